"""Demo data: a user for each role and a dozen patients who between them reach every decision.

Idempotent: running it again changes nothing that is already there. Every patient's history
reads in order - consultation, signed decision, accepted plan, injection, follow-up - because
the two treated patients are taken through the real services on the days each step happened
(see ``_clinic_clock``), so that every gate is passed as it would be in the clinic.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from spinepath.accounts.actors import at_command_line
from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.consultations.actions import (
    block_verify,
    decision_sign,
    new_signature_token,
    study_review,
    workup_import,
)
from spinepath.consultations.models import Encounter
from spinepath.pathway.workup import workup_from_dict
from spinepath.patients.models import Patient
from spinepath.patients.phones import distance_km, e164

DEMO_PASSWORD = "spinepath-demo"
# The hand-made demo patients' record ids in their workups: demo-01 ... demo-14.
DEMO_ID_PREFIX = "demo-"
DEMO_USERS = [
    ("dr.rivera", "clinician", "Ana", "Rivera"),
    ("dr.okafor", "clinician", "Chidi", "Okafor"),
    ("sam.coordinator", "coordinator", "Sam", "Lee"),
    ("admin", "clinic_admin", "Morgan", "Blake"),
]

_NORMAL = {
    "pfirrmann": 1,
    "modic": 0,
    "disc_height_loss_pct": 0,
    "endplate_bone_on_bone": False,
    "herniation": "none",
    "nerve_root_compression": False,
    "facet_arthropathy": 0,
    "ligament_injury": False,
}
_LEVELS = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")


def _levels(**changes: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"level": lv, **_NORMAL, **changes.get(lv.replace("-", "_"), {})} for lv in _LEVELS]


def _workup(pid: str, review: date, sex: str, born: str, **changes: Any) -> dict[str, Any]:
    mri_day = (review - timedelta(days=74)).isoformat()
    doc: dict[str, Any] = {
        "schema": "spinepath.workup/1",
        "patient": {"id": pid, "birth_date": born, "sex": sex},
        "assessed_on": review.isoformat(),
        "history": {
            "pain_duration_months": 26,
            "pattern": "axial",
            "conservative_care": {
                "physical_therapy_weeks": 12,
                "nsaid_trial": True,
                "status": "plateaued",
            },
            "prior_procedures": [],
            "medications": ["ibuprofen 400 mg as needed"],
            "goals": "Walk the dog for an hour without stopping.",
        },
        "red_flags": {
            "cauda_equina": False,
            "infection": False,
            "malignancy": False,
            "fracture": False,
        },
        "exam": {
            "motor_deficit": "none",
            "facet_pattern": False,
            "si_provocation_positive": 0,
            "ligament_tenderness": False,
        },
        "imaging": [
            {
                "modality": "MRI",
                "date": mri_day,
                "reviewed": True,
                "levels": _levels(
                    L4_L5={
                        "pfirrmann": 4,
                        "modic": 1,
                        "disc_height_loss_pct": 25,
                        "herniation": "bulge",
                    }
                ),
                "infection": False,
                "malignancy": False,
                "fracture": "none",
            }
        ],
        "diagnostic_blocks": [],
        "outcomes": {"pain_vas": 68, "odi_sections": [3, 2, 3, 2, 3, 2, 2, None, 2, 3]},
        "payer": "self_pay",
    }
    for path, value in changes.items():
        target = doc
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return doc


def demo_patients(review: date) -> list[tuple[str, str, str, dict[str, Any], bool]]:
    """(given, family, expected decision, workup, sign it) for the demo cohort."""
    block_day = (review - timedelta(days=30)).isoformat()
    facet_levels = _levels(L5_S1={"facet_arthropathy": 2})
    facet_mri = {
        "modality": "MRI",
        "date": (review - timedelta(days=60)).isoformat(),
        "reviewed": True,
        "levels": facet_levels,
    }
    worn = {"pfirrmann": 3, "disc_height_loss_pct": 20}
    return [
        ("Maria", "Lopez", "candidate", _workup("demo-01", review, "female", "1968-04-12"), True),
        (
            "James",
            "Carter",
            "refer_urgent",
            _workup("demo-02", review, "male", "1959-11-03", red_flags__cauda_equina=True),
            True,
        ),
        (
            "Priya",
            "Shah",
            "refer_surgical",
            _workup(
                "demo-03",
                review,
                "female",
                "1981-02-17",
                history__pattern="radicular",
                exam__motor_deficit="progressive",
                exam__radiculopathy_onset="acute",
            ),
            True,
        ),
        (
            "Tom",
            "Becker",
            "needs_imaging",
            _workup("demo-04", review, "male", "1975-07-29", imaging=[]),
            True,
        ),
        (
            "Aisha",
            "Bello",
            "needs_workup",
            _workup(
                "demo-05",
                review,
                "female",
                "1970-05-08",
                exam__facet_pattern=True,
                imaging=[facet_mri],
            ),
            True,
        ),
        (
            "Daniel",
            "Kim",
            "candidate",
            _workup(
                "demo-06",
                review,
                "male",
                "1966-09-21",
                exam__facet_pattern=True,
                imaging=[facet_mri],
                diagnostic_blocks=[
                    {
                        "kind": "medial_branch",
                        "date": block_day,
                        "levels": ["L5-S1"],
                        "side": "bilateral",
                        "relief_pct": 90,
                    }
                ],
            ),
            True,
        ),
        (
            "Helen",
            "Novak",
            "not_candidate",
            _workup(
                "demo-07",
                review,
                "female",
                "1954-01-30",
                imaging=[
                    {
                        **facet_mri,
                        "levels": _levels(
                            L5_S1={
                                "pfirrmann": 5,
                                "disc_height_loss_pct": 70,
                                "endplate_bone_on_bone": True,
                            }
                        ),
                    }
                ],
            ),
            True,
        ),
        (
            "Omar",
            "Haddad",
            "not_candidate",
            _workup(
                "demo-08",
                review,
                "male",
                "1988-12-02",
                history__conservative_care={
                    "physical_therapy_weeks": 0,
                    "nsaid_trial": False,
                    "status": "not_tried",
                },
            ),
            True,
        ),
        (
            "Grace",
            "Taylor",
            "not_candidate",
            _workup(
                "demo-09",
                review,
                "female",
                "1963-06-14",
                history__prior_procedures=[
                    {
                        "kind": "discectomy",
                        "date": (review - timedelta(days=60)).isoformat(),
                        "levels": ["L4-L5"],
                        "improved_after": False,
                    }
                ],
            ),
            True,
        ),
        (
            "Luis",
            "Moreno",
            "candidate",
            _workup(
                "demo-10",
                review,
                "male",
                "1957-03-09",
                exam__ligament_tenderness=True,
                payer="medicare_ab_supplement",
                imaging=[{**facet_mri, "levels": _levels(L4_L5={"ligament_injury": True})}],
            ),
            True,
        ),
        (
            "Sofia",
            "Rossi",
            "candidate",
            _workup(
                "demo-11",
                review,
                "female",
                "1972-10-25",
                payer="commercial",
                imaging=[{**facet_mri, "levels": _levels(L3_L4=worn, L4_L5=worn, L5_S1=worn)}],
                diagnostic_blocks=[
                    {
                        "kind": "discography",
                        "date": block_day,
                        "levels": ["L4-L5"],
                        "concordant": True,
                    }
                ],
            ),
            True,
        ),
        (
            "Ben",
            "Walsh",
            "needs_workup",
            _workup(
                "demo-12",
                review,
                "male",
                "1979-08-11",
                imaging=[
                    {**copy.deepcopy(facet_mri), "reviewed": False, "levels": _levels(L4_L5=worn)}
                ],
            ),
            False,
        ),
    ]


@transaction.atomic
def load_demo(review: date | None = None) -> list[tuple[str, str, str]]:
    """Create the demo users and patients; returns (username, role, password) for each user."""
    review = review or timezone.localdate()
    users = {}
    loader = Actor.system("(demo clinic)", path="(command line) spinepath demo")
    for username, role, first, last in DEMO_USERS:
        users[username] = staff_user_create(
            actor=loader,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            first_name=first,
            last_name=last,
            demo=True,
        )
    clinician = users["dr.rivera"]
    for index, (given, family, _expected, document, sign) in enumerate(demo_patients(review)):
        if Patient.objects.filter(external_id=document["patient"]["id"]).exists():
            continue
        encounter = _record(document, clinician, (given, family))
        _ichom_baseline(encounter, document, users["sam.coordinator"], index)
        if sign:
            decision_sign(
                encounter=encounter,
                actor=at_command_line("demo", clinician),
                token=new_signature_token(),
            )
        else:
            Encounter.objects.filter(pk=encounter.pk).update(last_step="imaging")
    # The catalogue first: every injection recorded below names a lot of it.
    _catalogue(users["admin"])
    _load_followed_patients(clinician, time_out_by=users["sam.coordinator"])
    _plan_to_read_at_home(clinician)
    _calendar(users)
    _safety(clinician, users["admin"])
    _reminder_history(users["sam.coordinator"])
    return [(username, role, DEMO_PASSWORD) for username, role, _f, _l in DEMO_USERS]


def _catalogue(admin: User) -> None:
    """The biologic products the demo clinic injects and their lots (one expired, which the
    procedure form refuses): /products/ as the admin, scanned on the procedure form."""
    from spinepath.plans.biologics import lot_create, product_create
    from spinepath.plans.models import BiologicProduct

    if BiologicProduct.objects.exists():
        return
    actor = at_command_line("demo", admin)
    today = timezone.localdate()
    for name, kind, source, establishment, lots in (
        (
            "Bone marrow concentrate (point of care)",
            "bmac",
            "autologous",
            "Spine Regenerative Clinic cell lab (FEI 3009876543)",
            [
                ("BMC-2611", "0100860001234561BMC-2611", 120, ""),
                # Recalled by its maker (below): Marcus Green received it.
                ("BMC-2607", "0100860001234561BMC-2607", 30, ""),
                ("BMC-2509", "0100860001234561BMC-2509", -10, ""),
            ],
        ),
        (
            "Leukocyte-poor PRP kit",
            "prp",
            "autologous",
            "Spine Regenerative Clinic (FEI 3009876543)",
            [("PRP-2611", "0100860001234578PRP-2611", 200, "")],
        ),
        (
            "Exosome preparation (donor-derived)",
            "exosome",
            "allogeneic",
            "Example Biologics Inc. (FEI 3001112223), under IND 012345",
            [("EXO-2610", "0100860001234585EXO-2610", 60, "DN-48213")],
        ),
    ):
        product = product_create(
            actor=actor, name=name, kind=kind, source=source, establishment=establishment
        )
        for lot, code, days, donor in lots:
            lot_create(
                actor=actor,
                product_id=product.pk,
                lot=lot,
                code=code,
                expires_on=today + timedelta(days=days),
                donor=donor,
            )


def _safety(clinician: User, admin: User) -> None:
    """Adverse events and safety answers, so each safety page has something to show: a mild
    flare, a serious reaction whose report is due, worrying answers awaiting review, and the
    recall of the lot the serious reaction followed, with its look-back written to."""
    from spinepath.pathway.safety import EventFacts
    from spinepath.plans.models import Procedure
    from spinepath.portal.services import actor_name
    from spinepath.safety.models import AdverseEvent, SafetyReport
    from spinepath.safety.services import EventInput, answers_from_patient, event_record

    today = timezone.localdate()
    injections = {
        p.patient.external_id: p
        for p in Procedure.objects.not_voided().select_related("patient")
        if p.patient.external_id in ("demo-13", "demo-14")
    }
    if len(injections) < 2 or AdverseEvent.objects.filter(patient__external_id="demo-13").exists():
        return
    elena, marcus = injections["demo-13"], injections["demo-14"]
    flare_on = elena.performed_on + timedelta(days=1)
    with _clinic_clock(flare_on + timedelta(days=6), 9):
        event_record(
            actor=at_command_line("demo", clinician),
            patient=elena.patient,
            procedure_id=elena.pk,
            aware_on=flare_on + timedelta(days=1),
            entry=EventInput(
                EventFacts(
                    term="Post-injection flare of back pain",
                    onset_on=flare_on,
                    grade=1,
                    serious_criteria=frozenset(),
                    related_procedure="probable",
                    related_product="unlikely",
                    expected=True,
                    action="medication",
                    outcome="resolved",
                    resolved_on=flare_on + timedelta(days=5),
                ),
                "Settled with paracetamol and rest; listed in the consent as expected.",
            ),
        )
    aware = today - timedelta(days=3)
    with _clinic_clock(aware, 15):
        event_record(
            actor=at_command_line("demo", clinician),
            patient=marcus.patient,
            procedure_id=marcus.pk,
            aware_on=aware,
            entry=EventInput(
                EventFacts(
                    term="Discitis at L4-L5",
                    onset_on=marcus.performed_on + timedelta(days=9),
                    grade=3,
                    serious_criteria=frozenset({"hospitalisation"}),
                    related_procedure="probable",
                    related_product="possible",
                    expected=False,
                    action="hospitalisation",
                    outcome="recovering",
                    resolved_on=None,
                ),
                "Admitted to another hospital for IV antibiotics; the clinic learned of it at "
                "the 3-month check-in.",
            ),
        )
    _recall(admin)
    if not SafetyReport.objects.filter(patient=elena.patient).exists():
        with _clinic_clock(today, 8):
            answers_from_patient(
                actor=Actor.for_patient(
                    elena.patient.pk,
                    actor_name(elena.patient),
                    address=None,
                    path="(demo) /my/safety/",
                ),
                patient=elena.patient,
                answers={
                    "site_pain": True,
                    "fever": False,
                    "wound": True,
                    "leg_numbness_weakness": False,
                    "bladder_bowel": False,
                },
                source=SafetyReport.OWN_PAGES,
                details="The injection spot is sore again and looks red since yesterday.",
            )


def _recall(admin: User) -> None:
    """The maker recalls lot BMC-2607; the clinic admin writes to whoever received it."""
    from spinepath.plans.biologics import lot_recall
    from spinepath.plans.models import ProductLot
    from spinepath.safety.lookback import Query, default_message, lookback_notify

    lot = ProductLot.objects.filter(lot="BMC-2607").first()
    if lot is None or lot.recalled_on is not None:
        return
    actor = at_command_line("demo", admin)
    with _clinic_clock(timezone.localdate() - timedelta(days=1), 16):
        lot_recall(
            actor=actor,
            lot_id=lot.pk,
            reason="The maker's recall notice: a retained sample of the kit failed sterility.",
        )
        query = Query(lot=lot.code)
        subject, body = default_message(query)
        lookback_notify(
            actor=actor,
            query=query,
            subject=subject,
            body=body,
            submission_key="demo-recall-" + "x" * 8,
        )


def _next_working_day(after: date) -> date:
    from spinepath.public.bookings import working_hours

    _, _, days = working_hours()
    day = after + timedelta(days=1)
    while day.isoweekday() not in days:
        day += timedelta(days=1)
    return day


def _calendar(users: dict[str, User]) -> None:
    """Requests and a clinician's next working day, as a coordinator left them: a new request
    from someone without a chart, and one from a demo patient whose consultation is booked (on
    the chart, the patient's pages and Dr Rivera's day, with what is still missing)."""
    from spinepath.public.bookings import appointment_book
    from spinepath.public.models import ConsultationRequest, Room
    from spinepath.public.requests import request_link

    if ConsultationRequest.objects.exists():
        return
    coordinator = at_command_line("demo", users["sam.coordinator"])
    ConsultationRequest.objects.create(
        name="Tom Baker",
        birth_date=date(1958, 2, 11),
        email="tom.baker@example.org",
        phone="(212) 555-0142",
        preferred_times="Mornings, Tuesday or Thursday",
        message="Low back pain for two years; I have an MRI from last spring.",
        screen_outcome="book_consultation",
        consent_to_contact=True,
    )
    waiting = (
        Patient.objects.filter(external_id__startswith="demo-", encounters__status="in-progress")
        .order_by("id")
        .first()
    )
    room = Room.objects.filter(kind="consultation").order_by("name").first()
    if waiting is None or room is None:
        return
    asked = ConsultationRequest.objects.create(
        name=f"{waiting.given_name} {waiting.family_name}",
        birth_date=waiting.birth_date,
        email=waiting.email,
        message="Follow-up: I have my new MRI.",
        screen_outcome="book_consultation",
        consent_to_contact=True,
    )
    request_link(actor=coordinator, request_id=asked.pk, patient_id=waiting.pk)
    day = _next_working_day(timezone.localdate())
    appointment_book(
        actor=coordinator,
        patient=waiting,
        clinician=users["dr.rivera"],
        room=room,
        start=timezone.make_aware(datetime.combine(day, time(9))),
        minutes=90,
        consultation_request=asked,
    )


def _plan_to_read_at_home(clinician: User) -> None:
    """The first signed candidate without a plan gets an email address and a written plan,
    released by the clinician, to read and accept on their own pages (/my/sign-in/; demo mail
    is written under var/mail/)."""
    from spinepath.consultations.selectors import latest_signed_decision
    from spinepath.plans.acceptance import plan_release
    from spinepath.plans.models import CarePlan
    from spinepath.plans.selectors import plan_content_hash
    from spinepath.plans.services import plan_create

    for patient in Patient.objects.filter(external_id__startswith="demo-").order_by("id"):
        signed = latest_signed_decision(patient)
        if signed is None or signed.decision != "candidate" or patient.birth_date is None:
            continue
        if CarePlan.objects.filter(patient=patient).exists():
            continue
        patient.email = f"{patient.given_name.lower()}.{patient.family_name.lower()}@example.org"
        patient.save(update_fields=["email"])
        plan = plan_create(patient=patient, actor=at_command_line("demo", clinician))
        plan_release(
            actor=at_command_line("demo", clinician), plan_id=plan.pk, shown=plan_content_hash(plan)
        )
        return


# The ICHOM baseline of each demo consultation (PATHWAY.md section 11), varied from patient to
# patient so the consultation, visit and export pages show every kind of answer.
_WORK = ("full_time", "part_time_back_pain", "not_working_back_pain", "not_working_other")
_ANALGESICS = ("daily", "occasional", "daily", "none")
_SMOKING = ("never", "former", "current")
_COMORBIDITIES = (
    ["none"],
    ["high_blood_pressure"],
    ["diabetes", "high_blood_pressure"],
    ["depression"],
    ["arthritis"],
)
_LEG_PAIN = {"axial": 2, "mixed": 5, "radicular": 7}


def _ichom_baseline(encounter: Encounter, document: dict[str, Any], by: User, index: int) -> None:
    """Back and leg pain, work, medication and the case-mix, as the coordinator records them at
    intake (before the signature: they are not facts of the candidacy review)."""
    from spinepath.consultations.actions import encounter_save

    pain = (document.get("outcomes") or {}).get("pain_vas")
    pattern = (document.get("history") or {}).get("pattern") or "axial"
    female = document["patient"]["sex"] == "female"
    analgesics = _ANALGESICS[index % len(_ANALGESICS)]
    encounter_save(
        encounter=encounter,
        actor=at_command_line("demo", by),
        step="history",
        fields={
            "back_pain_nrs": round(pain / 10) if pain is not None else None,
            "leg_pain_nrs": _LEG_PAIN.get(pattern, 3),
            "work_status": _WORK[index % len(_WORK)],
            "analgesic_use": analgesics,
            "opioid_use": analgesics == "daily" and index % 3 == 0,
            "height_cm": (163.0 if female else 177.0) + index % 5,
            "weight_kg": (66.0 if female else 82.0) + 3 * (index % 6),
            "smoking_status": _SMOKING[index % len(_SMOKING)],
            "comorbidities": _COMORBIDITIES[index % len(_COMORBIDITIES)],
        },
    )


def _record(document: dict[str, Any], clinician: User, names: tuple[str, str]) -> Encounter:
    """Import a demo consultation; the clinician then reviews the studies its file marks
    reviewed and verifies its blocks, as on the imaging page (imports arrive unattested)."""
    encounter = workup_import(
        workup=workup_from_dict(document),
        actor=at_command_line("demo", clinician),
        names=names,
    )
    reviewed = {s["date"] for s in document.get("imaging", []) if s.get("reviewed") is True}
    patient = encounter.patient
    for study in patient.imaging.all():
        if study.performed_on.isoformat() in reviewed:
            study_review(
                patient=patient,
                study_id=study.pk,
                actor=at_command_line("demo", clinician),
            )
    for block in patient.blocks.all():
        block_verify(patient=patient, block_id=block.pk, actor=at_command_line("demo", clinician))
    return encounter


@contextmanager
def _clinic_clock(day: date, hour: int) -> Iterator[None]:
    """Run the services as if it were ``day`` at ``hour``, clinic time.

    Signatures, acceptances, procedures and audit entries are stamped with the day they
    happened, and each service checks its gates against that day, as it did then. Only for
    the demo loader (a command, single-threaded): the web application never moves the clock.
    """
    moment = timezone.make_aware(datetime.combine(day, time(hour)))
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


# (given, family, record id, sex, born, days since the injection, [(days after it, pain, ODI
# answer for each section), or None for a visit missed]): patients treated months ago, for
# follow-up, its reminder ladder and the charts.
FOLLOWED: list[tuple[str, str, str, str, str, int, list[tuple[int, int, int] | None]]] = [
    (
        "Elena",
        "Petrova",
        "demo-13",
        "female",
        "1961-09-30",
        235,
        [(44, 52, 2), (95, 40, 2), (186, 28, 1)],
    ),
    ("Marcus", "Green", "demo-14", "male", "1958-05-19", 100, [(42, 66, 3)]),
    # The 6-week window opened a week ago: two emails so far.
    ("Ruth", "Adler", "demo-15", "female", "1966-02-11", 35, []),
    # Missed the 6-week check-in; answered at 3 months.
    ("Nadia", "Farouk", "demo-16", "female", "1979-07-23", 130, [None, (97, 48, 2)]),
]
# How each followed patient is reached (phone, street, city, ZIP) and what they declined.
CONTACT = {
    "demo-13": ("(212) 555-0113", "410 West 118th Street", "New York", "10027", ()),
    "demo-14": ("(718) 555-0114", "88 Bergen Street", "Brooklyn", "11201", ()),
    "demo-15": ("(914) 555-0115", "12 Orchard Lane", "White Plains", "10601", ("sms",)),
    "demo-16": ("(973) 555-0116", "5 Park Place", "Newark", "07102", ("letter",)),
}


def _load_followed_patients(clinician: User, *, time_out_by: User) -> None:
    """Consultation and signature, a plan written that day and accepted a week later, the
    injection a week after that (its time-out led by ``time_out_by``), then the
    reassessments - each on its own day."""
    from spinepath.followup.models import ReassessmentVisit
    from spinepath.followup.services import Answers, paper_form_enter
    from spinepath.pathway.biologics import Dose
    from spinepath.pathway.injections import Fluoroscopy, PreProcedureChecks
    from spinepath.pathway.plans import Target
    from spinepath.plans.acceptance import plan_accept, plan_release
    from spinepath.plans.procedures import procedure_record
    from spinepath.plans.selectors import plan_content_hash
    from spinepath.plans.services import plan_create

    today = timezone.localdate()
    for given, family, pid, sex, born, days_ago, measured in FOLLOWED:
        if Patient.objects.filter(external_id=pid).exists():
            continue
        injected = today - timedelta(days=days_ago)
        review = injected - timedelta(days=14)
        with _clinic_clock(review, 10):
            document = _workup(pid, review, sex, born)
            encounter = _record(document, clinician, (given, family))
            _ichom_baseline(encounter, document, time_out_by, len(given))
            decision_sign(
                encounter=encounter,
                actor=at_command_line("demo", clinician),
                token=new_signature_token(),
            )
            patient = encounter.patient
            patient.email = f"{given.lower()}.{family.lower()}@example.org"
            phone, street, city, postcode, declined = CONTACT[pid]
            patient.phone = e164(phone)
            patient.address_line, patient.address_city = street, city
            patient.address_state = "NJ" if postcode.startswith("07") else "NY"
            patient.postcode = postcode
            patient.distance_km = distance_km(postcode)
            for channel in declined:
                setattr(patient, f"remind_by_{channel}", False)
            patient.save()
        with _clinic_clock(review, 11):
            plan = plan_create(patient=patient, actor=at_command_line("demo", clinician))
            plan = plan_release(
                actor=at_command_line("demo", clinician),
                plan_id=plan.pk,
                shown=plan_content_hash(plan),
            )
        with _clinic_clock(injected - timedelta(days=7), 11):
            plan_accept(
                plan=plan,
                typed_name=f"{given} {family}",
                actor=at_command_line("demo", clinician),
            )
        with _clinic_clock(injected, 14):
            procedure_record(
                patient=patient,
                actor=at_command_line("demo", clinician),
                target=Target("discogenic", "L4-L5", None),
                performed_on=injected,
                material="msc",
                guidance="fluoroscopy",
                dose="10 million cells",
                volume_ml=Decimal("1.5"),
                lot_code=f"0100860001234561{'BMC-2607' if pid == 'demo-14' else 'BMC-2611'}",
                dose_measured=Dose(cells_million=Decimal(10), viability_pct=Decimal(93)),
                fluoroscopy=Fluoroscopy(seconds=38, air_kerma_mgy=Decimal("6.4")),
                checks=PreProcedureChecks(
                    consent_confirmed=True,
                    site_marked=True,
                    time_out_done=True,
                    time_out_led_by=time_out_by.pk,
                ),
            )
        visits = list(ReassessmentVisit.objects.filter(plan=plan).order_by("due"))
        for answered, visit in zip(measured, visits, strict=False):
            if answered is None:
                continue  # missed
            offset, pain, odi_each = answered
            measured_on = injected + timedelta(days=offset)
            with _clinic_clock(measured_on, 12):
                paper_form_enter(
                    actor=at_command_line("demo", clinician),
                    visit=visit,
                    measured_on=measured_on,
                    answers=Answers(pain, "vas", [odi_each] * 10, lbp=_ichom_check_in(pain)),
                )


def _reminder_history(coordinator: User) -> None:
    """The reminder ladder as cron would have run it at 10:00 over the last 120 days,
    and the coordinator's call to Marcus Green, who did not answer (a voicemail)."""
    from django.conf import settings

    from spinepath.followup.models import ReminderStep
    from spinepath.followup.reminders import call_outcome_record, send_reminders

    if ReminderStep.objects.exists():
        return
    from spinepath.followup.models import ReassessmentVisit
    from spinepath.pathway.reminders import step_day
    from spinepath.patients.models import SYNTHETIC_ID_PREFIX
    from spinepath.web.policy import clinic_policy

    today = timezone.localdate()
    start = today - timedelta(days=120)
    # The ladder moves only on its steps' days (one step a visit a day, each on its own day):
    # running on those days does what running every day would.
    steps = clinic_policy().reminder_steps
    days = {
        step_day(opens, step)
        for opens in ReassessmentVisit.objects.filter(closes__gte=start, opens__lte=today)
        .exclude(patient__external_id__startswith=SYNTHETIC_ID_PREFIX)
        .values_list("opens", flat=True)
        for step in steps
    }
    for day in sorted(d for d in days if start <= d <= today):
        with _clinic_clock(day, 10):
            send_reminders(
                actor=at_command_line("send-reminders"),
                base_url=settings.SPINEPATH_BASE_URL,
                today=day,
            )
    call = ReminderStep.objects.filter(
        visit__patient__external_id="demo-14", channel="call", call_outcome=""
    ).first()
    if call is not None:
        with _clinic_clock(call.acted_on + timedelta(days=1), 11):
            call_outcome_record(
                actor=at_command_line("demo", coordinator),
                step=call,
                outcome=ReminderStep.VOICEMAIL,
                note="Left a message with the clinic's number.",
            )


def _ichom_check_in(pain: float) -> Any:
    """The ICHOM answers of a demo check-in: back and leg pain easing with the overall pain,
    back to work and off daily medication as it does."""
    from spinepath.pathway.ichom import LbpAnswers

    better = pain < 45
    return LbpAnswers(
        back_pain_nrs=round(pain / 10),
        leg_pain_nrs=max(0, round(pain / 10) - 4),
        work_status="full_time" if better else "part_time_back_pain",
        analgesic_use="occasional" if better else "daily",
        opioid_use=False,
    )
