from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone

from spinepath.patients.models import Patient


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
