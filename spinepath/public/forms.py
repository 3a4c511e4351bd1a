from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils import timezone

from spinepath.pathway.selfscreen import RED_FLAG_QUESTIONS, ScreenAnswers
from spinepath.patients.phones import e164
from spinepath.public.models import Room
from spinepath.web.submissions import OncePerSubmission

YES_NO_UNSURE = [("yes", "Yes"), ("no", "No"), ("unsure", "Not sure")]


class SelfScreenForm(forms.Form):
    red_flags = forms.MultipleChoiceField(
        choices=list(RED_FLAG_QUESTIONS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Do any of these apply to you now? Tick all that do.",
    )
    pain_months = forms.TypedChoiceField(
        label="How long have you had this back pain?",
        coerce=float,
        choices=[
            ("1", "Less than 6 weeks"),
            ("2", "6 weeks to 3 months"),
            ("6", "3 to 12 months"),
            ("18", "More than a year"),
        ],
        widget=forms.RadioSelect,
    )
    stable_weakness = forms.ChoiceField(
        label="Is a leg or foot weak (for example, the foot drags or the knee gives way), "
        "without getting worse?",
        choices=YES_NO_UNSURE,
        widget=forms.RadioSelect,
    )
    where = forms.ChoiceField(
        label="Where is the pain mostly?",
        choices=[
            ("back", "Mostly in my back"),
            ("leg", "Mostly down my leg"),
            ("both", "Both about the same"),
        ],
        widget=forms.RadioSelect,
    )
    therapy_weeks = forms.TypedChoiceField(
        label="How much physical therapy have you had for it?",
        coerce=float,
        choices=[("0", "None"), ("3", "Less than 6 weeks"), ("8", "6 weeks or more")],
        widget=forms.RadioSelect,
    )
    still_improving = forms.ChoiceField(
        label="If you have had therapy: is the pain still getting better with it?",
        choices=YES_NO_UNSURE,
        widget=forms.RadioSelect,
        required=False,
    )
    tried_anti_inflammatories = forms.ChoiceField(
        label="Have you tried anti-inflammatory medicine (such as ibuprofen), or been told not "
        "to take it?",
        choices=YES_NO_UNSURE,
        widget=forms.RadioSelect,
    )
    mri = forms.ChoiceField(
        label="Do you have an MRI of your lower back?",
        choices=[
            ("recent", "Yes, from the last 12 months"),
            ("older", "Yes, but older"),
            ("none", "No"),
            ("unsure", "Not sure"),
        ],
        widget=forms.RadioSelect,
    )
    surgery = forms.ChoiceField(
        label="Have you had back surgery?",
        choices=[
            ("none", "No"),
            ("recent", "Yes, in the last 6 months"),
            ("older", "Yes, more than 6 months ago"),
        ],
        widget=forms.RadioSelect,
    )

    def answers(self) -> ScreenAnswers:
        data = self.cleaned_data
        surgery = {"none": None, "recent": 2.0, "older": 12.0}[data["surgery"]]
        return ScreenAnswers(
            red_flags=frozenset(data["red_flags"]),
            pain_months=data["pain_months"],
            where=data["where"],
            therapy_weeks=data["therapy_weeks"],
            still_improving=data["still_improving"] or None,
            tried_anti_inflammatories=data["tried_anti_inflammatories"],
            mri=data["mri"],
            surgery_months_ago=surgery,
            stable_weakness=data["stable_weakness"],
        )


class ConsultationRequestForm(forms.Form):
    name = forms.CharField(max_length=120, label="Your name")
    birth_date = forms.DateField(
        required=False,
        label="Your date of birth (so we find your record if you have been here before)",
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
    )

    def clean_birth_date(self) -> Any:
        born = self.cleaned_data["birth_date"]
        if born is not None and (born.year < 1900 or born > timezone.localdate()):
            raise forms.ValidationError("Enter your date of birth, for example 1961-04-30.")
        return born

    email = forms.EmailField(required=False, label="Email")
    phone = forms.CharField(
        max_length=40,
        required=False,
        label="Phone",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    preferred_times = forms.CharField(
        max_length=300, required=False, label="When suits you? (days, times)"
    )
    message = forms.CharField(
        max_length=2000,
        required=False,
        label="Anything we should know?",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    consent_to_contact = forms.BooleanField(
        label="I agree that the clinic contacts me about this request.",
        error_messages={
            "required": "Please tick this box: we can only contact you with your consent."
        },
    )
    # A field people never see: automated submitters fill it in.
    website = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    screen_outcome = forms.CharField(required=False, widget=forms.HiddenInput, max_length=30)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        phone = cleaned.get("phone") or ""
        if phone:
            # Read as the chart will store it (E.164), so the request becomes a chart as typed.
            try:
                e164(phone)
            except ValueError as exc:
                self.add_error("phone", str(exc))
        elif not cleaned.get("email") and not phone:
            self.add_error("email", "Give an email address or a phone number.")
        return cleaned


# Consultations are booked for the coming months, not for centuries ahead (a date near the
# end of the calendar would also overflow the end-time arithmetic).
BOOKING_HORIZON_DAYS = 366


class SlotForm(forms.Form):
    """A day, a start time and a length: the slot of a consultation."""

    def clean_time(self) -> Any:
        chosen = self.cleaned_data["time"]
        if chosen.minute % 5 or chosen.second:
            raise forms.ValidationError("Book on a 5-minute mark, for example 14:05 or 14:15.")
        return chosen

    def clean_date(self) -> Any:
        day = self.cleaned_data["date"]
        if day > timezone.localdate() + timedelta(days=BOOKING_HORIZON_DAYS):
            raise forms.ValidationError("Book within the coming year.")
        if day < timezone.localdate():
            raise forms.ValidationError("That day has passed.")
        return day

    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time", "step": 900}))
    minutes = forms.TypedChoiceField(
        choices=[("60", "60 minutes"), ("75", "75 minutes"), ("90", "90 minutes")],
        coerce=int,
        initial="60",
    )


def bookable_clinicians() -> Any:
    """Clinicians who see patients: active people, not names on records only."""
    return (
        User.objects.filter(groups__name="clinician", is_active=True)
        .exclude(staff_account__record_only=True)
        .order_by("last_name", "first_name", "username")
    )


class ClinicianField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """Clinicians by their names, as the clinic knows them (never a user name)."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.username)


def rooms_of(*kinds: str) -> Any:
    return Room.objects.filter(kind__in=kinds)


class RoomField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return (
            f"{obj.name} ({obj.get_kind_display().lower()})"
            if obj.kind not in obj.name.lower()
            else obj.name
        )


class BookingForm(OncePerSubmission, SlotForm):
    clinician = ClinicianField(queryset=bookable_clinicians())
    room = RoomField(queryset=rooms_of("consultation"))
    field_order = ["clinician", "room", "date", "time", "minutes"]


class RescheduleForm(SlotForm):
    pass


VISIT_LENGTHS = [
    ("15", "15 minutes"),
    ("30", "30 minutes"),
    ("45", "45 minutes"),
    ("60", "60 minutes"),
]
SESSION_LENGTHS = [
    ("30", "30 minutes"),
    ("45", "45 minutes"),
    ("60", "60 minutes"),
    ("90", "90 minutes"),
    ("120", "120 minutes"),
]


class SessionForm(OncePerSubmission, SlotForm):
    """An injection session: 60 minutes unless the clinician needs more or less."""

    clinician = ClinicianField(queryset=bookable_clinicians())
    room = RoomField(queryset=rooms_of("fluoroscopy", "ultrasound"), label="Procedure room")
    minutes = forms.TypedChoiceField(choices=SESSION_LENGTHS, coerce=int, initial="60")
    field_order = ["clinician", "room", "date", "time", "minutes"]


class VisitForm(OncePerSubmission, SlotForm):
    """A pre-procedure visit and consent: 30 minutes in a consultation room."""

    clinician = ClinicianField(queryset=bookable_clinicians())
    room = RoomField(queryset=rooms_of("consultation"))
    minutes = forms.TypedChoiceField(choices=VISIT_LENGTHS, coerce=int, initial="30")
    field_order = ["clinician", "room", "date", "time", "minutes"]


class RequestChartForm(forms.Form):
    """A new chart from a consultation request: the coordinator checks the names and birth
    date the requester typed."""

    given_name = forms.CharField(max_length=100, label="First name")
    family_name = forms.CharField(max_length=100, label="Last name")
    birth_date = forms.DateField(
        label="Date of birth", widget=forms.DateInput(attrs={"type": "date"})
    )
    email = forms.EmailField(required=False)
    phone = forms.CharField(max_length=40, required=False)
    confirm_other_person = forms.BooleanField(
        required=False,
        label="This is another person than the chart with the same name and birth date",
    )

    def clean_birth_date(self) -> Any:
        born = self.cleaned_data["birth_date"]
        if born > timezone.localdate():
            raise forms.ValidationError("A date of birth cannot be in the future.")
        if born.year < 1900:
            raise forms.ValidationError("Enter a date of birth after 1900.")
        return born


class VisitRescheduleForm(SlotForm):
    minutes = forms.TypedChoiceField(choices=VISIT_LENGTHS, coerce=int, initial="30")


class SessionRescheduleForm(SlotForm):
    minutes = forms.TypedChoiceField(choices=SESSION_LENGTHS, coerce=int, initial="60")
