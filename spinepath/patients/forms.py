from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone

from spinepath.patients.models import Patient
from spinepath.web.submissions import OncePerSubmission


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = ["given_name", "family_name", "birth_date", "sex", "email", "phone", "payer"]
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"})}

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
