"""Forms of the four consultation steps. Blank means "not recorded", never no or zero."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from spinepath.consultations.facts import ENCOUNTER_FACTS
from spinepath.consultations.models import (
    LEVEL_CHOICES,
    SIDE_CHOICES,
    DiagnosticBlock,
    Encounter,
    ImagingStudy,
    PriorProcedure,
)
from spinepath.pathway.authority import may_state, refusal
from spinepath.pathway.ichom import (
    ANALGESIC_USE,
    BASELINE_FIELDS,
    COMORBIDITIES,
    HEIGHT_CM,
    NO_COMORBIDITY,
    NRS_MAX,
    NRS_MIN,
    SMOKING_STATUS,
    WEIGHT_KG,
    WORK_STATUS,
    baseline_problems,
    comorbidity_problem,
)
from spinepath.pathway.instruments import ODI_SECTIONS
from spinepath.patients.models import Patient
from spinepath.web.params import parse_id
from spinepath.web.submissions import OncePerSubmission
from spinepath.web.text import json_problems, text_problem


class TriStateField(forms.NullBooleanField):
    """Yes / No / Not recorded, as a select a clinician can set back to "not recorded"."""

    widget = forms.Select(choices=[("", "Not recorded"), ("true", "Yes"), ("false", "No")])

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> bool | None:
        # Anything but yes, no or blank is refused by name: read as "not recorded", it would
        # silently wipe a stored answer.
        if value not in (None, "", True, False, "true", "True", "1", "false", "False", "0"):
            raise forms.ValidationError(
                f"{self.label or 'This answer'}: choose yes, no or not recorded.", code="invalid"
            )
        return super().to_python(value)  # type: ignore[no-any-return]

    def prepare_value(self, value: Any) -> Any:
        # A stored value (True/False) or a submitted one ("true"/"false") redisplays as it
        # was: a form shown again with an error elsewhere keeps every yes and no.
        if value in (True, "true", "True", "1"):
            return "true"
        if value in (False, "false", "False", "0"):
            return "false"
        return ""


NRS_CHOICES = [(str(n), str(n)) for n in range(NRS_MIN, NRS_MAX + 1)]


def _valid(form: forms.BaseForm, names: list[str]) -> dict[str, Any]:
    cleaned = getattr(form, "cleaned_data", {})
    return {name: cleaned[name] for name in names if name in cleaned and name not in form.errors}


def _blank_choice(choices: Any, label: str = "Not recorded") -> list[tuple[str, str]]:
    return [("", label), *list(choices)]


class StepForm(forms.ModelForm):
    """A consultation step: fields the user's role may not state, and every field of a signed
    (locked) consultation, are shown but read-only. The services refuse them too."""

    def limit(self, *, roles: set[str], locked: bool) -> None:
        for name, field in self.fields.items():
            fact = "intake_history" if name.startswith("odi_") else ENCOUNTER_FACTS.get(name)
            if locked:
                field.disabled = True
            elif fact is not None and not may_state(roles, fact):
                field.disabled = True
                field.help_text = refusal(fact)


# The fields of the low back pain measures' check constraints (consultations.models).
LBP_CONSTRAINED = ("back_pain_nrs", "leg_pain_nrs", "analgesic_use", "opioid_use")


class HistoryForm(StepForm):
    class Meta:
        model = Encounter
        fields = [
            "assessed_on",
            "pain_duration_months",
            "pattern",
            "physical_therapy_weeks",
            "nsaid_trial",
            "conservative_status",
            "prior_procedures_asked",
            "medications",
            "goals",
            "red_cauda_equina",
            "red_infection",
            "red_malignancy",
            "red_fracture",
            "pain_vas",
            *BASELINE_FIELDS,
        ]
        labels = {
            "assessed_on": "Review date",
            "pain_duration_months": "Pain duration (months)",
            "pattern": "Pain pattern",
            "physical_therapy_weeks": "Physical therapy (weeks)",
            "nsaid_trial": "NSAID trial (or contraindicated)",
            "conservative_status": "Conservative care now",
            "prior_procedures_asked": "Asked about earlier spine procedures",
            "red_cauda_equina": "Cauda equina signs (saddle numbness, bladder/bowel change)",
            "red_infection": "Suspected spinal infection",
            "red_malignancy": "Suspected malignancy",
            "red_fracture": "Acute vertebral fracture",
            "pain_vas": "Pain today, VAS 0-100 mm",
        }
        widgets = {
            "assessed_on": forms.DateInput(attrs={"type": "date"}),
            "medications": forms.Textarea(attrs={"rows": 3}),
            "goals": forms.Textarea(attrs={"rows": 3}),
        }

    nsaid_trial = TriStateField(label="NSAID trial (or contraindicated)")
    prior_procedures_asked = TriStateField(label="Asked about earlier spine procedures")
    red_cauda_equina = TriStateField(label=Meta.labels["red_cauda_equina"])
    red_infection = TriStateField(label=Meta.labels["red_infection"])
    red_malignancy = TriStateField(label=Meta.labels["red_malignancy"])
    red_fracture = TriStateField(label=Meta.labels["red_fracture"])
    pain_duration_months = forms.FloatField(
        required=False, min_value=0, max_value=1200, label="Pain duration (months)"
    )
    physical_therapy_weeks = forms.FloatField(
        required=False, min_value=0, max_value=520, label="Physical therapy (weeks)"
    )
    pain_vas = forms.FloatField(
        required=False, min_value=0, max_value=100, label="Pain today, VAS 0-100 mm"
    )
    # The ICHOM low back pain measures at baseline and the case-mix (pathway/ichom.py).
    back_pain_nrs = forms.TypedChoiceField(
        label="Back pain over the last week, NRS 0-10",
        choices=_blank_choice(NRS_CHOICES),
        coerce=int,
        empty_value=None,
        required=False,
        error_messages={"invalid_choice": "Back pain: choose a number from 0 to 10."},
    )
    leg_pain_nrs = forms.TypedChoiceField(
        label="Leg pain over the last week, NRS 0-10",
        choices=_blank_choice(NRS_CHOICES),
        coerce=int,
        empty_value=None,
        required=False,
        error_messages={"invalid_choice": "Leg pain: choose a number from 0 to 10."},
    )
    work_status = forms.ChoiceField(
        label="Work status",
        choices=_blank_choice(WORK_STATUS.items()),
        required=False,
        error_messages={"invalid_choice": "Work status: choose one of the list."},
    )
    analgesic_use = forms.ChoiceField(
        label="Pain medication for the back or legs",
        choices=_blank_choice(ANALGESIC_USE.items()),
        required=False,
        error_messages={"invalid_choice": "Pain medication: choose no, now and then, or daily."},
    )
    opioid_use = TriStateField(label="Opioid pain medication")
    height_cm = forms.FloatField(
        required=False, min_value=HEIGHT_CM[0], max_value=HEIGHT_CM[1], label="Height (cm)"
    )
    weight_kg = forms.FloatField(
        required=False, min_value=WEIGHT_KG[0], max_value=WEIGHT_KG[1], label="Weight (kg)"
    )
    smoking_status = forms.ChoiceField(
        label="Smoking",
        choices=_blank_choice(SMOKING_STATUS.items()),
        required=False,
        error_messages={"invalid_choice": "Smoking: current, former or never."},
    )
    comorbidities = forms.MultipleChoiceField(
        label="Long-term conditions (leave all unticked when not asked)",
        choices=[(NO_COMORBIDITY, "None of these"), *COMORBIDITIES.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Comorbidities: choose from the list."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pattern"].choices = _blank_choice(Encounter._meta.get_field("pattern").choices)
        self.fields["conservative_status"].choices = _blank_choice(
            Encounter._meta.get_field("conservative_status").choices
        )
        odi = list(self.instance.odi_sections or [None] * 10)
        for index, section in enumerate(ODI_SECTIONS):
            name = f"odi_{index + 1}"
            self.fields[name] = forms.TypedChoiceField(
                label=f"{index + 1}. {section.title}",
                choices=[("", "Not answered")]
                + [(str(score), f"{score} - {text}") for score, text in enumerate(section.options)],
                coerce=int,
                empty_value=None,
                required=False,
                initial=odi[index],
            )

    def _get_validation_exclusions(self) -> set[str]:
        # The database's constraints on the low back pain measures (0-10, no opioid without
        # pain medication) are the pathway's rules, which clean() names at their fields
        # (baseline_problems) and the service checks again on every route; the constraints
        # stay the last guard at the commit. Validating them here as well asked the database
        # three queries per save.
        return {*super()._get_validation_exclusions(), *LBP_CONSTRAINED}

    def clean_assessed_on(self) -> Any:
        day = self.cleaned_data["assessed_on"]
        if day > timezone.localdate():
            raise forms.ValidationError("The review date cannot be in the future.")
        born = self.instance.patient.birth_date if self.instance.patient_id else None
        if day < date(1900, 1, 1) or (born is not None and day < born):
            raise forms.ValidationError("The review date cannot be before the patient's birth.")
        return day

    def clean_comorbidities(self) -> list[str] | None:
        # Nothing ticked is "not recorded"; "none of these" is the answer "none".
        values = list(self.cleaned_data["comorbidities"])
        if not values:
            return None
        problem = comorbidity_problem(values)
        if problem:
            raise forms.ValidationError(problem)
        return values

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, problem in baseline_problems(cleaned).items():
            if name not in self.errors:
                self.add_error(name, problem)
        if any(f"odi_{i}" in self.errors for i in range(1, 11)):
            return cleaned
        sections = [cleaned.get(f"odi_{i}") for i in range(1, 11)]
        cleaned["odi_sections"] = None if all(s is None for s in sections) else sections
        return cleaned

    def step_fields(self) -> dict[str, Any]:
        """The valid answers of this step (all of them once the form is valid).

        Autosave stores these while a value elsewhere is still wrong, so nothing typed is lost.
        """
        data = _valid(self, self.Meta.fields)
        if "odi_sections" in self.cleaned_data:
            data["odi_sections"] = self.cleaned_data["odi_sections"]
        return data


class ExamForm(StepForm):
    class Meta:
        model = Encounter
        fields = [
            "range_of_motion",
            "strength",
            "motor_deficit",
            "radiculopathy_onset",
            "facet_pattern",
            "si_provocation_positive",
            "ligament_tenderness",
        ]
        labels = {
            "range_of_motion": "Range of motion",
            "strength": "Strength",
            "motor_deficit": "Motor deficit",
            "radiculopathy_onset": "Radiculopathy onset (only with radicular signs)",
            "facet_pattern": "Clinical facet pattern",
            "si_provocation_positive": "Positive sacroiliac provocation tests (0-6)",
            "ligament_tenderness": "Focal ligament tenderness",
        }

    facet_pattern = TriStateField(label="Clinical facet pattern")
    ligament_tenderness = TriStateField(label="Focal ligament tenderness")
    si_provocation_positive = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=6,
        label="Positive sacroiliac provocation tests (0-6)",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("motor_deficit", "radiculopathy_onset"):
            self.fields[name].choices = _blank_choice(Encounter._meta.get_field(name).choices)

    def step_fields(self) -> dict[str, Any]:
        return _valid(self, self.Meta.fields)


class StudyForm(forms.ModelForm):
    class Meta:
        model = ImagingStudy
        fields = ["modality", "performed_on", "infection", "malignancy", "fracture", "report"]
        labels = {"performed_on": "Study date"}
        widgets = {
            "performed_on": forms.DateInput(attrs={"type": "date"}),
            "report": forms.Textarea(attrs={"rows": 2}),
        }

    infection = TriStateField(label="Infection")
    malignancy = TriStateField(label="Malignancy")
    # The version of the study this page showed: a save over someone else's change is refused.
    shown = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)
    # The review is the clinician's attestation of the study as recorded on this page.
    attest = forms.BooleanField(
        required=False,
        label="I have reviewed this study as recorded here",
        help_text="Your review is recorded with your name and the time. Changing the date or "
        "a finding later clears it.",
    )

    def __init__(
        self, *args: Any, review_date: Any = None, can_review: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.review_date = review_date
        self.fields["fracture"].choices = _blank_choice(
            ImagingStudy._meta.get_field("fracture").choices
        )
        if not can_review:
            del self.fields["attest"]

    def clean_performed_on(self) -> Any:
        day = self.cleaned_data["performed_on"]
        if self.review_date and day > self.review_date:
            raise forms.ValidationError(
                f"The study date is after the review date {self.review_date}."
            )
        return day

    def study_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class FindingForm(forms.Form):
    """One lumbar level's findings; all blank means the level was not reported."""

    level = forms.ChoiceField(choices=LEVEL_CHOICES, widget=forms.HiddenInput)
    pfirrmann = forms.TypedChoiceField(
        choices=_blank_choice([(str(i), str(i)) for i in range(1, 6)], "-"),
        coerce=int,
        empty_value=None,
        required=False,
        label="Pfirrmann",
    )
    modic = forms.TypedChoiceField(
        choices=_blank_choice([(str(i), str(i)) for i in range(0, 4)], "-"),
        coerce=int,
        empty_value=None,
        required=False,
        label="Modic",
    )
    disc_height_loss_pct = forms.FloatField(
        required=False, min_value=0, max_value=100, label="Height loss %"
    )
    endplate_bone_on_bone = TriStateField(label="Bone-on-bone")
    herniation = forms.ChoiceField(
        choices=_blank_choice(
            [
                ("none", "None"),
                ("bulge", "Bulge"),
                ("protrusion", "Protrusion"),
                ("extrusion", "Extrusion"),
                ("sequestration", "Sequestration"),
            ],
            "-",
        ),
        required=False,
        label="Herniation",
    )
    nerve_root_compression = TriStateField(label="Root compression")
    facet_arthropathy = forms.TypedChoiceField(
        choices=_blank_choice([(str(i), str(i)) for i in range(0, 4)], "-"),
        coerce=int,
        empty_value=None,
        required=False,
        label="Facet grade",
    )
    ligament_injury = TriStateField(label="Ligament injury")


FindingFormSet = forms.formset_factory(FindingForm, extra=0)


class LevelsField(forms.MultipleChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=LEVEL_CHOICES, widget=forms.CheckboxSelectMultiple, **kwargs)


class BlockForm(OncePerSubmission, forms.ModelForm):
    class Meta:
        model = DiagnosticBlock
        fields = ["kind", "performed_on", "levels", "side", "relief_pct", "concordant"]
        labels = {"performed_on": "Date", "relief_pct": "Peak relief %"}
        widgets = {"performed_on": forms.DateInput(attrs={"type": "date"})}

    levels = LevelsField(required=False)
    concordant = TriStateField(label="Concordant (discography)")
    relief_pct = forms.FloatField(required=False, min_value=0, max_value=100, label="Peak relief %")

    def __init__(self, *args: Any, review_date: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.review_date = review_date
        self.fields["side"].choices = _blank_choice(SIDE_CHOICES, "-")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        relief_missing = cleaned.get("relief_pct") is None and "relief_pct" not in self.errors
        if kind in ("medial_branch", "sacroiliac") and relief_missing:
            self.add_error("relief_pct", "Enter the peak relief for this block.")
        if kind == "discography":
            if cleaned.get("concordant") is None:
                self.add_error("concordant", "Record whether the discography was concordant.")
            if not cleaned.get("levels"):
                self.add_error("levels", "Choose the levels the discography tested.")
        if kind == "medial_branch" and not cleaned.get("levels"):
            self.add_error("levels", "Choose the levels the block tested.")
        day = cleaned.get("performed_on")
        if day and self.review_date and day > self.review_date:
            self.add_error("performed_on", f"The date is after the review date {self.review_date}.")
        return cleaned


class ProcedureForm(forms.ModelForm):
    class Meta:
        model = PriorProcedure
        fields = ["kind", "performed_on", "levels", "improved_after"]
        labels = {"performed_on": "Date", "improved_after": "Back pain improved after it"}
        widgets = {"performed_on": forms.DateInput(attrs={"type": "date"})}

    levels = LevelsField(required=False)
    improved_after = TriStateField(label="Back pain improved after it")

    def __init__(
        self, *args: Any, review_date: Any = None, birth_date: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.review_date = review_date
        self.birth_date = birth_date

    def clean_performed_on(self) -> Any:
        day = self.cleaned_data["performed_on"]
        if self.review_date and day > self.review_date:
            raise forms.ValidationError(f"The date is after the review date {self.review_date}.")
        if self.birth_date and day < self.birth_date:
            raise forms.ValidationError(f"The date is before the birth date {self.birth_date}.")
        return day


class ImportForm(forms.Form):
    file = forms.FileField(label="Workup file (spinepath.workup/1 JSON)", required=False)
    # The file's content, kept when the page asks for a choice, so it is not uploaded twice.
    document = forms.CharField(required=False, widget=forms.HiddenInput, max_length=1024 * 1024)
    # The chart the user picked for this workup (a hidden id, set by "Add to this chart").
    patient = forms.CharField(required=False, widget=forms.HiddenInput)
    given_name = forms.CharField(max_length=100, required=False, label="First name (new patient)")
    family_name = forms.CharField(max_length=100, required=False, label="Last name (new patient)")
    confirm_changes = forms.BooleanField(
        required=False, label="Yes, change the chart's details to the workup's"
    )
    # The differences this page showed: a confirmation binds them and nothing else.
    confirm_for = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is not None:
            if upload.size > 1024 * 1024:
                self.add_error("file", "The file is larger than 1 MB.")
            else:
                cleaned["document"] = upload.read().decode("utf-8", errors="replace")
        if not cleaned.get("document") and "file" not in self.errors:
            self.add_error("file", "Choose a workup file.")
        problems = _unstorable(cleaned.get("document") or "")
        if problems:
            # Named by where they are in the workup; the text is not kept in the page.
            self.add_error(
                "file", "The workup holds text that cannot be stored: " + "; ".join(problems)
            )
            cleaned["document"] = ""
        return cleaned

    def clean_patient(self) -> Patient | None:
        raw = self.cleaned_data["patient"].strip()
        if not raw:
            return None
        patient_id = parse_id(raw)
        patient = Patient.objects.filter(pk=patient_id).first() if patient_id else None
        if patient is None:
            raise forms.ValidationError("That patient does not exist.")
        return patient


def _unstorable(document: str) -> list[str]:
    """What in a workup's JSON text the database cannot store (a NUL, an unpaired surrogate),
    by field path."""
    if not document:
        return []
    problem = text_problem(document)
    try:
        parsed = json.loads(document)
    except (ValueError, RecursionError):
        # Not JSON: the workup's own reading names that; a NUL outside its strings is named here.
        return [f"(the file) {problem}"] if problem else []
    return json_problems(parsed)


class AmendForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        min_length=5,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why is the signed consultation changed?",
    )
