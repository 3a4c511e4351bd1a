from __future__ import annotations

from typing import Any

from django import forms

from spinepath.public.models import ChangeRequest


class LinkRequestForm(forms.Form):
    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        help_text="The address the clinic has on your record.",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )


class BirthDateForm(forms.Form):
    birth_date = forms.DateField(
        label="Your date of birth",
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
        error_messages={"invalid": "Enter your date of birth, for example 1961-04-30."},
    )


class AcceptForm(forms.Form):
    shown = forms.CharField(widget=forms.HiddenInput, max_length=64)
    consent = forms.BooleanField(
        required=False, label="I have read the plan and agree with the statement above."
    )
    typed_name = forms.CharField(
        label="Type your full name",
        max_length=200,
        help_text="As written at the top of the plan; this is your signature.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


class ChangeRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label="What would you like?", choices=ChangeRequest.KINDS, widget=forms.RadioSelect
    )
    message = forms.CharField(
        label="Anything the coordinator should know (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReminderChoicesForm(forms.Form):
    """How the patient agrees to be reminded of their follow-up check-ins (PATHWAY.md
    section 11): asked when they accept their plan, changed on My questionnaires."""

    email = forms.BooleanField(required=False, label="By email")
    sms = forms.BooleanField(required=False, label="By text message")
    call = forms.BooleanField(required=False, label="By a phone call from the clinic")
    letter = forms.BooleanField(required=False, label="By a letter in the post")
    # Unticked boxes are not posted: this says the choices were on the page that was sent.
    asked = forms.CharField(widget=forms.HiddenInput, initial="1", required=False)

    @staticmethod
    def initial_for(patient: Any) -> dict[str, Any]:
        return {**patient.reminder_choices, "asked": "1"}

    @property
    def choices(self) -> dict[str, bool] | None:
        """The channels ticked, or None when the form carried no choices."""
        if self.cleaned_data.get("asked") != "1":
            return None
        return {k: bool(self.cleaned_data[k]) for k in ("email", "sms", "call", "letter")}
