from __future__ import annotations

from typing import Any

from django import forms

from spinepath.plans.models import GUIDANCE_CHOICES, MATERIAL_CHOICES, PHASE_CHOICES, PriceItem


class InjectionForm(forms.Form):
    """An injection session; the target is chosen from the decision's confirmed targets."""

    target = forms.ChoiceField(label="Target (confirmed in the decision)")
    material = forms.ChoiceField(choices=MATERIAL_CHOICES)
    guidance = forms.ChoiceField(choices=GUIDANCE_CHOICES)
    planned_on = forms.DateField(
        required=False, label="Planned date", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, targets: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The choices list only confirmed targets, but the service checks again: a tampered
        # value that is not in this list fails here, one that is forged fails there.
        self.fields["target"].choices = targets


class ItemForm(forms.Form):
    item = forms.ModelChoiceField(
        queryset=PriceItem.objects.filter(active=True).exclude(category="regenerative"),
        label="Item",
    )
    quantity = forms.IntegerField(min_value=1, max_value=50, initial=1)
    phase = forms.ChoiceField(choices=PHASE_CHOICES, initial="prepare")


class AcceptForm(forms.Form):
    typed_name = forms.CharField(max_length=200, label="Patient's full name, typed as signature")
    understood = forms.BooleanField(
        label="I have read the plan, its prices and total, and what to expect.", required=True
    )


class ProcedureForm(forms.Form):
    target = forms.ChoiceField(label="Target (from the accepted plan)")
    performed_on = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    material = forms.ChoiceField(choices=MATERIAL_CHOICES)
    dose = forms.CharField(max_length=100, required=False, help_text="e.g. 10 million cells")
    volume_ml = forms.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=50,
        required=False,
        label="Volume (ml)",
    )
    guidance = forms.ChoiceField(choices=GUIDANCE_CHOICES)
    complications = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="None, or what happened and what was done.",
    )

    def __init__(self, *args: Any, targets: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = targets


class PriceForm(forms.Form):
    amount = forms.DecimalField(max_digits=10, decimal_places=2, min_value=0)


class FinancingForm(forms.Form):
    provider = forms.CharField(max_length=100)
    term_months = forms.IntegerField(min_value=1, max_value=120)
    annual_rate_pct = forms.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=60)
