from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from spinepath.patients.models import Patient
from spinepath.patients.phones import US_STATES, readable
from spinepath.web.submissions import OncePerSubmission


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = [
            "given_name",
            "family_name",
            "birth_date",
            "sex",
            "email",
            "phone",
            "address_line",
            "address_city",
            "address_state",
            "postcode",
            "payer",
            "remind_by_email",
            "remind_by_sms",
            "remind_by_call",
            "remind_by_letter",
        ]
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "postcode": forms.TextInput(attrs={"inputmode": "numeric"}),
        }
        labels = {
            "remind_by_email": "Check-in reminders by email",
            "remind_by_sms": "Check-in reminders by text message",
            "remind_by_call": "Check-in reminder calls",
            "remind_by_letter": "Check-in reminder letters",
        }
        help_texts = {
            "phone": "In any usual format; stored as +1 555 010 0123 (E.164).",
            "remind_by_email": "As the patient chose; they can change it on their own pages.",
        }

    address_state = forms.ChoiceField(
        label="State",
        required=False,
        choices=[("", "-")] + [(code, f"{code} - {name}") for code, name in US_STATES.items()],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The number as people write it here; stored in E.164 when saved.
        if self.instance.pk and self.instance.phone and not self.is_bound:
            self.initial["phone"] = readable(self.instance.phone)

    def clean_birth_date(self) -> date | None:
        born = self.cleaned_data["birth_date"]
        if born is not None and born > timezone.localdate():
            raise forms.ValidationError("The date of birth cannot be in the future.")
        if born is not None and born < date(1900, 1, 1):
            raise forms.ValidationError("The date of birth cannot be before 1900.")
        return born


class NewPatientForm(OncePerSubmission, PatientForm):
    """The New patient form: once per submission, and a second chart for the same name and
    birth date only when the coordinator confirms it is another person."""

    confirm_other_person = forms.BooleanField(
        required=False,
        label="This is another person with the same name and date of birth",
    )


class IdentifierForm(forms.Form):
    """An identifier the patient has in another system (FHIR Identifier: system and value)."""

    system = forms.CharField(
        max_length=255,
        help_text="The other system as a URI: the EHR's FHIR address "
        "(https://ehr.example.org/fhir) or a URN (urn:oid:1.2.840.1234).",
    )
    value = forms.CharField(max_length=64, label="Identifier", help_text="As that system gives it.")
