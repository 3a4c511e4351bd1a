from __future__ import annotations

from typing import Any

from django import forms

from spinepath.consultations.models import LEVEL_CHOICES, SIDE_CHOICES
from spinepath.pathway.safety import (
    ACTIONS,
    CTCAE_GRADES,
    OUTCOMES,
    RELATEDNESS,
    SAFETY_QUESTIONS,
    SERIOUS_CRITERIA,
    EventFacts,
)
from spinepath.safety.models import EventFiling, Reintervention
from spinepath.safety.services import TEXT_MAX, EventInput
from spinepath.web.submissions import OncePerSubmission

YES_NO = [("yes", "Yes"), ("no", "No")]


def add_safety_questions(fields: dict[str, forms.Field]) -> None:
    """The fixed safety questions among a form's ``fields``, each a required yes or no (never
    skipped)."""
    for question in SAFETY_QUESTIONS:
        fields[f"safety_{question.key}"] = forms.ChoiceField(
            label=question.question,
            choices=YES_NO,
            widget=forms.RadioSelect,
            error_messages={"required": f"Please answer yes or no: {question.question}"},
        )


def safety_answers(cleaned: dict[str, Any]) -> dict[str, bool | None]:
    """The safety answers of a cleaned form, by question key (None where unanswered)."""
    found: dict[str, bool | None] = {}
    for question in SAFETY_QUESTIONS:
        value = cleaned.get(f"safety_{question.key}")
        found[question.key] = None if value in (None, "") else value == "yes"
    return found


def posted_safety(data: Any) -> dict[str, str]:
    """The safety answers as posted, valid or not ("yes", "no" or anything else), by key."""
    return {q.key: str(data.get(f"safety_{q.key}", "")) for q in SAFETY_QUESTIONS}


def safety_fields(form: forms.Form) -> list[Any]:
    return [form[f"safety_{q.key}"] for q in SAFETY_QUESTIONS]


class SafetyAnswersForm(OncePerSubmission):
    """The patient's own report of a problem since the injection."""

    details = forms.CharField(
        label="Anything you would like to add (optional)",
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        details = self.fields.pop("details")
        add_safety_questions(self.fields)
        self.fields["details"] = details


class StaffAnswersForm(SafetyAnswersForm):
    """Answers a patient gave on paper or by telephone."""

    answered_on = forms.DateField(
        label="Date the patient answered", widget=forms.DateInput(attrs={"type": "date"})
    )
    visit_label = forms.CharField(
        label="Reassessment visit (if any)", required=False, max_length=40
    )


class ReviewForm(forms.Form):
    note = forms.CharField(
        label="What you found and did (for example: called the patient, advice given)",
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _optional_bool(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class EventForm(forms.Form):
    """An adverse event as a clinician records it (CTCAE v5, ICH E2A, relatedness)."""

    # Required by the service, which names every missing answer at once (pathway.safety).
    term = forms.CharField(
        label="Event (term)",
        max_length=200,
        required=False,
        help_text="For example: post-injection flare, discitis, vasovagal reaction.",
    )
    description = forms.CharField(
        required=False, max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )
    onset_on = forms.DateField(
        label="Onset", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    grade = forms.TypedChoiceField(
        label="CTCAE v5 grade",
        choices=[("", "Choose…"), *CTCAE_GRADES.items()],
        coerce=int,
        empty_value=None,
        required=False,
    )
    serious_criteria = forms.MultipleChoiceField(
        label="Serious (ICH E2A): the event…",
        choices=list(SERIOUS_CRITERIA.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick none for a non-serious event.",
    )
    related_procedure = forms.ChoiceField(
        label="Related to the procedure",
        choices=[("", "Choose…"), *RELATEDNESS.items()],
        required=False,
    )
    related_product = forms.ChoiceField(
        label="Related to the product",
        choices=[("", "Choose…"), *RELATEDNESS.items()],
        required=False,
    )
    expected = forms.ChoiceField(
        label="Expected (listed in the consent)",
        choices=[("", "Choose…"), ("yes", "Expected"), ("no", "Unexpected")],
        required=False,
    )
    action = forms.ChoiceField(
        label="Action taken", choices=[("", "Choose…"), *ACTIONS.items()], required=False
    )
    outcome = forms.ChoiceField(choices=[("", "Choose…"), *OUTCOMES.items()], required=False)
    resolved_on = forms.DateField(
        label="Resolved on (or date of death)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def entry(self) -> EventInput:
        data = self.cleaned_data
        return EventInput(
            EventFacts(
                term=data.get("term") or "",
                onset_on=data.get("onset_on"),
                grade=data.get("grade"),
                serious_criteria=frozenset(data.get("serious_criteria") or ()),
                related_procedure=data.get("related_procedure") or "",
                related_product=data.get("related_product") or "",
                expected=_optional_bool(data.get("expected") or ""),
                action=data.get("action") or "",
                outcome=data.get("outcome") or "",
                resolved_on=data.get("resolved_on"),
            ),
            data.get("description") or "",
        )


class NewEventForm(OncePerSubmission, EventForm):
    aware_on = forms.DateField(
        label="The clinic learned of it on", widget=forms.DateInput(attrs={"type": "date"})
    )
    procedure = forms.TypedChoiceField(
        label="After the injection", coerce=int, empty_value=None, required=False
    )

    def __init__(self, *args: Any, procedures: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["procedure"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "Not linked to an injection"), *procedures]


class AmendForm(EventForm):
    based_on = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=32767)
    reason = forms.CharField(
        label="Reason for the change", max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )


class InErrorForm(forms.Form):
    reason = forms.CharField(
        label="Why this event was entered in error",
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class FilingForm(forms.Form):
    kind = forms.ChoiceField(choices=EventFiling.KINDS)
    filed_on = forms.DateField(label="Filed on", widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.ChoiceField(label="How", choices=EventFiling.METHODS)
    reference = forms.CharField(label="Report or acknowledgement number", max_length=80)


class NoticeForm(OncePerSubmission):
    """The message to the patients a look-back found: {name} and {injections} are filled in
    for each."""

    subject = forms.CharField(max_length=200)
    body = forms.CharField(
        label="Message",
        max_length=6000,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text="{name} and {injections} are replaced with each patient's name and their "
        "injections of it.",
    )
    again = forms.BooleanField(
        required=False, label="Write again to the patients already written to about it"
    )


class ReinterventionForm(OncePerSubmission):
    """A surgery or an injection elsewhere at a treated level, as a document says or the
    patient reports it. The service names what is missing or wrong, field by field."""

    procedure = forms.TypedChoiceField(
        label="At the level treated by the injection of", coerce=int, empty_value=None
    )
    kind = forms.ChoiceField(
        label="What", choices=Reintervention.KINDS, widget=forms.RadioSelect, required=False
    )
    performed_on = forms.DateField(
        label="Date of the surgery or injection",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    level = forms.ChoiceField(
        choices=[("", "No level (a ligament or the sacroiliac joint)"), *LEVEL_CHOICES],
        required=False,
        help_text="The treated level: a re-intervention at another level is not one.",
    )
    side = forms.ChoiceField(choices=[("", "Not known"), *SIDE_CHOICES], required=False)
    description = forms.CharField(
        label="What was done, where and by whom",
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: L4-L5 fusion at the county hospital, Dr Chen.",
    )
    source = forms.ChoiceField(
        label="Known from", choices=[("", "Choose…"), *Reintervention.SOURCES], required=False
    )

    def __init__(self, *args: Any, procedures: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["procedure"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = procedures
