from __future__ import annotations

from typing import Any

from django import forms

from spinepath.errors import Refused
from spinepath.plans.models import (
    GUIDANCE_CHOICES,
    MATERIAL_CHOICES,
    PHASE_CHOICES,
    PRODUCT_KIND_CHOICES,
    SOURCE_CHOICES,
    BiologicProduct,
    PriceItem,
)
from spinepath.plans.procedures import VOID_REASON_MAX
from spinepath.plans.selectors import time_out_leaders
from spinepath.web.refusals import show_on_form
from spinepath.web.submissions import OncePerSubmission

# The largest id a database integer column holds: a larger number in a form or a query string
# is a form error, not a database overflow.
RECORD_ID_MAX = 2**63 - 1


def record_id_field(label: str, *, required: bool = True) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=required,
        min_value=1,
        max_value=RECORD_ID_MAX,
        error_messages={"max_value": "No such record.", "min_value": "No such record."},
    )


class InjectionForm(OncePerSubmission):
    """An injection session; the target is chosen from the decision's confirmed targets."""

    target = forms.ChoiceField(label="Target (confirmed in the decision)")
    material = forms.ChoiceField(choices=MATERIAL_CHOICES)
    guidance = forms.ChoiceField(choices=GUIDANCE_CHOICES)
    # The product and its regulatory route (PATHWAY.md section 10): the service checks the kind
    # suits the material and asks for the IND number when the policy gives the kind under one.
    product_kind = forms.ChoiceField(
        choices=[("", "Choose…"), *PRODUCT_KIND_CHOICES],
        label="Kind of product",
        error_messages={"required": "Choose the kind of product this injection gives."},
    )
    ind_number = forms.CharField(
        max_length=20,
        required=False,
        label="IND number",
        help_text="For material given under an IND: 5 or 6 digits, e.g. IND 012345.",
    )
    planned_on = forms.DateField(
        required=False, label="Planned date", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, targets: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The choices list only confirmed targets, but the service checks again: a tampered
        # value that is not in this list fails here, one that is forged fails there.
        self.fields["target"].choices = targets


class ItemForm(OncePerSubmission):
    item = forms.ModelChoiceField(
        queryset=PriceItem.objects.filter(active=True).exclude(category="regenerative"),
        label="Item",
    )
    quantity = forms.IntegerField(min_value=1, max_value=50, initial=1)
    phase = forms.ChoiceField(choices=PHASE_CHOICES, initial="prepare")


class AcceptForm(forms.Form):
    # The content hash of the plan as this page shows it: acceptance binds what was read.
    shown = forms.RegexField(
        regex=r"^[0-9a-f]{64}$",
        widget=forms.HiddenInput,
        error_messages={
            "required": "This page is incomplete: reload the plan and accept again.",
            "invalid": "This page is incomplete: reload the plan and accept again.",
        },
    )
    typed_name = forms.CharField(max_length=200, label="Patient's full name, typed as signature")
    understood = forms.BooleanField(
        label="I have read the plan, its prices and total, and what to expect.", required=True
    )


class RemoveLineForm(forms.Form):
    line = record_id_field("Line")


class StaffField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """Members of staff by their names, as the clinic knows them (never a user name)."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.username)


class ProcedureForm(forms.Form):
    # Rendered into the form when it is shown: every copy of one submission carries it, so a
    # double click or a resent post finds the record the first one made.
    submission = forms.RegexField(
        regex=r"^[A-Za-z0-9_-]{16,64}$",
        widget=forms.HiddenInput,
        error_messages={
            "required": "This form has expired: reload the page and enter the procedure again.",
            "invalid": "This form has expired: reload the page and enter the procedure again.",
        },
    )
    target = forms.ChoiceField(label="Target (from the accepted plan)")
    performed_on = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    material = forms.ChoiceField(choices=MATERIAL_CHOICES)
    dose = forms.CharField(max_length=100, required=False, help_text="e.g. 10 million cells")
    # The service says what is missing or out of range, each on its field.
    volume_ml = forms.DecimalField(
        max_digits=5, decimal_places=2, required=False, label="Volume per level (ml)"
    )
    guidance = forms.ChoiceField(choices=GUIDANCE_CHOICES)
    fluoroscopy_seconds = forms.IntegerField(
        required=False,
        label="Fluoroscopy time (seconds)",
        help_text="Under fluoroscopy: as the machine reports it.",
    )
    air_kerma_mgy = forms.DecimalField(
        max_digits=7,
        decimal_places=2,
        required=False,
        label="Air kerma (mGy)",
        help_text="Under fluoroscopy: cumulative air kerma at the reference point.",
    )
    # The biologic (PATHWAY.md section 10): a scanner types the label's code and Enter.
    # Required by the service, which names it beside everything else the record lacks.
    lot_code = forms.CharField(
        max_length=80,
        required=False,
        label="Product lot (scan or type the code on the label)",
        error_messages={"required": "Scan or type the code on the product's label."},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "data-scan": "1"}
        ),
    )
    # The ranges are the service's (pathway.biologics.dose_problems), named with the rest.
    cells_million = forms.DecimalField(
        max_digits=8, decimal_places=2, required=False, label="Cells (millions)"
    )
    viability_pct = forms.DecimalField(
        max_digits=5, decimal_places=1, required=False, label="Viability (%)"
    )
    platelets_k_per_ul = forms.DecimalField(
        max_digits=7, decimal_places=1, required=False, label="PRP platelets (x10³/µl)"
    )
    leukocytes_k_per_ul = forms.DecimalField(
        max_digits=7, decimal_places=1, required=False, label="PRP leukocytes (x10³/µl)"
    )
    # The pre-procedure checks: the operator (who records) confirms each; the time-out names
    # who led it.
    consent_confirmed = forms.BooleanField(required=False, label="Consent confirmed")
    site_marked = forms.BooleanField(required=False, label="Site marked")
    time_out_done = forms.BooleanField(required=False, label="Time-out performed")
    time_out_by = StaffField(queryset=time_out_leaders(), required=False, label="Time-out led by")
    complications = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="None, or what happened and what was done.",
    )

    CHECKS = ("consent_confirmed", "site_marked", "time_out_done", "time_out_by")

    def __init__(self, *args: Any, targets: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = targets

    def check_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.CHECKS]

    def record_fields(self) -> list[forms.BoundField]:
        return [field for field in self.visible_fields() if field.name not in self.CHECKS]


class VoidForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=VOID_REASON_MAX,
        label="Why is this entry wrong?",
        help_text="The entry stays on the record, struck through, with your name and this reason.",
    )


class PriceForm(forms.Form):
    item = forms.ModelChoiceField(queryset=PriceItem.objects.all())
    amount = forms.DecimalField(max_digits=10, decimal_places=2, min_value=0)


class FinancingForm(forms.Form):
    provider = forms.CharField(max_length=100)
    term_months = forms.IntegerField(min_value=1, max_value=120)
    annual_rate_pct = forms.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=60)


def show_refusal(form: forms.Form, refused: Refused) -> None:
    """A service's refusal on the (bound) form it came from. Not allowed (403) and not
    available (404) are pages of their own, not form errors."""
    if refused.status in (403, 404):
        raise refused
    show_on_form(form, refused)


class ProductForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=[("", "Choose…"), *PRODUCT_KIND_CHOICES])
    source = forms.ChoiceField(choices=SOURCE_CHOICES)
    establishment = forms.CharField(
        max_length=160, help_text="Who made or processed it, with its FDA establishment number."
    )


class LotForm(forms.Form):
    product = forms.ModelChoiceField(queryset=BiologicProduct.objects.filter(active=True))
    code = forms.CharField(
        max_length=80,
        label="Distinct identification code (scan the label)",
        widget=forms.TextInput(attrs={"autocomplete": "off", "data-scan": "1"}),
    )
    lot = forms.CharField(max_length=60, label="Lot number")
    expires_on = forms.DateField(label="Expires", widget=forms.DateInput(attrs={"type": "date"}))
    donor = forms.CharField(max_length=60, required=False, label="Donor id (allogeneic)")


class LookbackForm(forms.Form):
    lot = forms.CharField(
        max_length=80,
        required=False,
        label="Lot (code or lot number)",
        widget=forms.TextInput(attrs={"autocomplete": "off", "data-scan": "1"}),
    )
    product = forms.ModelChoiceField(
        queryset=BiologicProduct.objects.all(), required=False, empty_label="Any product"
    )
    donor = forms.CharField(max_length=60, required=False, label="Donor id")


class RecallForm(forms.Form):
    lot_id = record_id_field("Lot")
    reason = forms.CharField(
        label="Why it is recalled",
        max_length=2000,
        error_messages={"required": "Say why the lot is recalled."},
    )
