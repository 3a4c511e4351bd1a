from __future__ import annotations

from typing import Any

from django import forms

from spinepath.followup.models import ReminderStep
from spinepath.followup.selectors import SORTS, STATE_FILTERS
from spinepath.pathway.ichom import (
    ANALGESIC_USE,
    LBP_FIELDS,
    LBP_MISSING,
    LBP_QUESTIONS,
    NRS_HELP,
    NRS_MAX,
    NRS_MIN,
    WORK_STATUS,
    LbpAnswers,
    lbp_problems,
)
from spinepath.pathway.instruments import ODI_SECTIONS
from spinepath.pathway.safety import SAFETY_QUESTIONS
from spinepath.plans.forms import record_id_field
from spinepath.safety.forms import add_safety_questions, safety_answers, safety_fields

YES_NO = [("yes", "Yes"), ("no", "No")]
NRS_CHOICES = [(str(n), str(n)) for n in range(NRS_MIN, NRS_MAX + 1)]


def add_lbp_questions(fields: dict[str, forms.Field], *, asked_of_patient: bool) -> None:
    """The ICHOM low back pain questions (PATHWAY.md section 11). Asked of the patient: radio
    buttons a phone can tap, each answer required and named at its question when missing.
    Entered by staff from paper: selects, blank when the form left it unanswered."""
    blank = "Not answered on the form"
    nrs_invalid = "{}: choose a number from 0 to 10."
    for name, what in (("back_pain_nrs", "Back pain"), ("leg_pain_nrs", "Leg pain")):
        fields[name] = forms.TypedChoiceField(
            label=LBP_QUESTIONS[name],
            choices=NRS_CHOICES if asked_of_patient else [("", blank), *NRS_CHOICES],
            coerce=int,
            empty_value=None,
            required=asked_of_patient,
            widget=forms.RadioSelect if asked_of_patient else forms.Select,
            error_messages={
                "required": LBP_MISSING[name],
                "invalid_choice": nrs_invalid.format(what),
            },
        )
    for name, table, invalid in (
        ("work_status", WORK_STATUS, "Work status: choose one of the list."),
        ("analgesic_use", ANALGESIC_USE, "Pain medication: choose no, now and then, or daily."),
    ):
        choices = list(table.items())
        fields[name] = forms.ChoiceField(
            label=LBP_QUESTIONS[name],
            choices=choices if asked_of_patient else [("", blank), *choices],
            required=asked_of_patient,
            widget=forms.RadioSelect if asked_of_patient else forms.Select,
            error_messages={
                "required": LBP_MISSING[name],
                "invalid_choice": invalid,
            },
        )
    fields["opioid_use"] = forms.ChoiceField(
        label=LBP_QUESTIONS["opioid_use"],
        choices=YES_NO if asked_of_patient else [("", blank), *YES_NO],
        required=asked_of_patient,
        widget=forms.RadioSelect if asked_of_patient else forms.Select,
        error_messages={
            "required": LBP_MISSING["opioid_use"],
            "invalid_choice": LBP_MISSING["opioid_use"],
        },
    )


def lbp_answers(form: forms.Form, cleaned: dict[str, Any]) -> LbpAnswers:
    """The answers of a cleaned form; a problem the rules find (an opioid while no pain
    medication is taken) is named at its field."""
    opioid = cleaned.get("opioid_use")
    answers = LbpAnswers(
        back_pain_nrs=cleaned.get("back_pain_nrs"),
        leg_pain_nrs=cleaned.get("leg_pain_nrs"),
        work_status=cleaned.get("work_status") or None,
        analgesic_use=cleaned.get("analgesic_use") or None,
        opioid_use=None if not opioid else opioid == "yes",
    )
    for name, problem in lbp_problems(answers).items():
        if name not in form.errors:
            form.add_error(name, problem)
    return answers


class QuestionnaireForm(forms.Form):
    """Pain (slider and number field, the number wins), the ICHOM low back pain questions
    (back and leg pain 0-10, work, pain medication and opioids: each answered), the safety
    questions (each a yes or a no, never skipped: PATHWAY.md section 10) and the ten ODI
    sections, each may be left blank."""

    # Whether the ICHOM questions must each be answered (the patient's own page).
    asked_of_patient = True
    nrs_help = NRS_HELP

    pain = forms.FloatField(
        min_value=0,
        max_value=100,
        required=False,
        label="Your pain right now, 0 to 100",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": "1", "min": 0, "max": 100}),
    )
    pain_slider = forms.FloatField(min_value=0, max_value=100, required=False)
    # Set by the page's script when the person moves the slider: a slider left where it
    # starts (50) is not an answer.
    pain_slider_moved = forms.CharField(required=False, max_length=1)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        cleaned["safety"] = safety_answers(cleaned)
        cleaned["lbp"] = lbp_answers(self, cleaned)
        pain = cleaned.get("pain")
        if pain is None and cleaned.get("pain_slider_moved") == "1":
            pain = cleaned.get("pain_slider")
        if pain is None and "pain" not in self.errors:
            self.add_error("pain", "Please give your pain score, 0 (no pain) to 100 (worst).")
        cleaned["pain_value"] = pain
        cleaned["odi_sections"] = [cleaned.get(f"odi_{i}") for i in range(1, 11)]
        return cleaned

    def sections(self) -> list[tuple[Any, Any]]:
        return [(ODI_SECTIONS[i - 1], self[f"odi_{i}"]) for i in range(1, 11)]

    def safety(self) -> list[Any]:
        return safety_fields(self)

    def lbp(self) -> list[Any]:
        return [self[name] for name in LBP_FIELDS]


def _add_questions(form_class: type[QuestionnaireForm]) -> None:
    """The ODI sections, the ICHOM questions and the safety questions, made once per class
    (each form copies them, as it copies its declared fields: making their choices anew for
    every page took most of the form's time)."""
    fields = dict(form_class.base_fields)
    for index, section in enumerate(ODI_SECTIONS, start=1):
        fields[f"odi_{index}"] = forms.TypedChoiceField(
            label=section.question,
            choices=[("", "Skip this question")]
            + [(str(score), text) for score, text in enumerate(section.options)],
            coerce=int,
            empty_value=None,
            required=False,
            widget=forms.RadioSelect,
        )
    add_lbp_questions(fields, asked_of_patient=form_class.asked_of_patient)
    add_safety_questions(fields)
    form_class.base_fields = fields


_add_questions(QuestionnaireForm)


def questions_version() -> str:
    """Changes with the questionnaire's wording (the blank form is cached under it)."""
    import hashlib

    text = repr(
        [(s.title, s.question, s.options) for s in ODI_SECTIONS]
        + [(q.key, q.question) for q in SAFETY_QUESTIONS]
        + [LBP_QUESTIONS, WORK_STATUS, ANALGESIC_USE]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class PaperForm(QuestionnaireForm):
    """A paper form as staff enter it: what the patient wrote, blank where they left it."""

    asked_of_patient = False

    measured_on = forms.DateField(
        label="Date the form was filled in", widget=forms.DateInput(attrs={"type": "date"})
    )
    scale = forms.ChoiceField(
        choices=[("vas", "VAS 0-100 mm"), ("nrs", "NRS 0-10")],
        initial="nrs",
        label="Pain scale on the paper form (the clinic's letter and a call ask 0 to 10)",
    )
    confirm_outside_window = forms.BooleanField(
        required=False,
        label="The date is outside the visit's window: keep these answers, flagged 'outside "
        "window' (they will not count in the clinic's outcomes)",
    )
    source = forms.ChoiceField(
        choices=[
            ("paper", "On a paper form"),
            ("phone", "On the phone, to me (a reminder call)"),
        ],
        initial="paper",
        required=False,
        label="How the patient answered",
        widget=forms.RadioSelect,
    )

    def clean_source(self) -> str:
        return str(self.cleaned_data.get("source") or "paper")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pain"].label = "Pain score as written on the form"
        self.fields["pain"].widget = forms.NumberInput(attrs={"step": "any"})
        for index in range(1, 11):
            self.fields[f"odi_{index}"].widget = forms.Select()
            self.fields[f"odi_{index}"].choices = [("", "Not answered")] + [
                (str(score), f"{score} - {text}")
                for score, text in enumerate(ODI_SECTIONS[index - 1].options)
            ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        pain = cleaned.get("pain_value")
        if cleaned.get("scale") == "nrs" and pain is not None and pain > 10:
            self.add_error("pain", "An NRS answer is 0 to 10.")
        return cleaned


_add_questions(PaperForm)  # its own: blank choices, nothing required


class VisitNotesForm(forms.Form):
    functional_notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Functional testing notes",
        max_length=4000,
    )
    repeat_imaging = forms.BooleanField(required=False, label="Repeat imaging indicated")


WORKLIST_STATES = ["open", *STATE_FILTERS]


class WorklistFilter(forms.Form):
    """The worklist's query string; a malformed value is named, never a server error."""

    state = forms.ChoiceField(choices=[(s, s) for s in WORKLIST_STATES], required=False)
    sort = forms.ChoiceField(choices=[(s, s) for s in SORTS], required=False)
    patient = record_id_field("Patient", required=False)


class CallOutcomeForm(forms.Form):
    """What happened on a reminder call (answers given on the phone are entered as the visit's
    questionnaire instead)."""

    step = forms.IntegerField(widget=forms.HiddenInput)
    outcome = forms.ChoiceField(
        label="What happened on the call",
        choices=[c for c in ReminderStep.CALL_OUTCOMES if c[0] != ReminderStep.ANSWERED],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what happened on the call."},
    )
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "e.g. call back after 5 pm"}),
    )
