from __future__ import annotations

from django import forms


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="Who or what uses it", help_text="e.g. the EHR, the registry"
    )
    can_write = forms.BooleanField(
        required=False,
        label="May also write (store questionnaire answers sent by a patient app)",
    )
