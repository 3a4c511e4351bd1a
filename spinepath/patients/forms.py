from __future__ import annotations

from django import forms

from spinepath.patients.models import Patient


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = ["given_name", "family_name", "birth_date", "sex", "email", "phone", "payer"]
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"})}
