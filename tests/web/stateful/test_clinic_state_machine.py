"""A hypothesis state machine drives the services as random roles through random sequences -
import, edit the history and exam, review or edit an MRI, add blocks, sign, amend, write and
accept plans, record and void procedures, issue links and answer questionnaires, move the
clock - and after every step checks the promises of PATHWAY.md (section 7 and the five
promises) on the whole database (each invariant looks again at what the step changed).

SPINEPATH_EXAMPLES scales how hard it searches (see test_candidacy_properties.py).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import time_machine
from django.contrib.auth.models import Group, User
from django.db import connection, models, transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from treatment_helpers import injection_details
from web_helpers import PASSWORD, acting, decision_in_force
from workup_builder import DROP, document

from spinepath.accounts.roles import is_clinician
from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.consultations import actions as consult
from spinepath.consultations.models import CandidacyDecision, Encounter, ImagingStudy
from spinepath.errors import Refused
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
from spinepath.followup.services import Answers, paper_form_enter, questionnaire_link_create
from spinepath.pathway import gates
from spinepath.pathway.dates import months_before
from spinepath.pathway.plans import Target
from spinepath.pathway.workup import InvalidWorkup, workup_from_dict
from spinepath.plans import acceptance
from spinepath.plans import services as plans
from spinepath.plans.models import CarePlan, PlanLine, Procedure
from spinepath.plans.procedures import procedure_record, procedure_void
from spinepath.plans.selectors import accepted_plan, plan_content_hash
from spinepath.plans.standing import patient_standing
from spinepath.web.policy import clinic_policy

EXAMPLES = max(10, int(os.environ.get("SPINEPATH_EXAMPLES", "300")) // 6)
IDS = itertools.count(1)
REVIEW_DAY = date(2026, 11, 2)  # the workup builder's review day
ROLES = ("clinician", "clinician", "coordinator")  # a clinician's day has more steps
ANSWERS = Answers(pain=30, pain_scale="vas", odi_sections=[1] * 10)
SEEN: Counter[str] = Counter()  # what the random steps did, to check they reach every gate

# Variants of the builder's candidate workup that reach the other decisions.
VARIANTS: dict[str, dict[str, Any]] = {
    "candidate": {},
    "not_now": {"history__pain_duration_months": 1},
    "unreviewed": {"imaging__0__reviewed": False},
    "facet": {"exam__facet_pattern": True, "imaging__0__levels__4__facet_arthropathy": 2},
    "urgent": {"red_flags__cauda_equina": True},
    "no_screen": {"red_flags__malignancy": DROP},
}
HISTORY_EDITS: list[tuple[str, Any]] = [
    ("pain_duration_months", 2.0),
    ("pain_duration_months", 30.0),
    ("conservative_status", "improving"),
    ("conservative_status", "plateaued"),
    ("red_cauda_equina", True),
    ("red_cauda_equina", False),
    ("motor_deficit", "progressive"),
    ("motor_deficit", "none"),
    ("pattern", "radicular"),
    ("pattern", "axial"),
    # A coordinator's intake save with blanks: it never removes what a clinician stated.
    ("prior_procedures_asked", None),
    ("pain_duration_months", None),
    ("goals", "Walk the dog again"),
]


# Statements that never change a row; any other is counted against the table it writes to
# (WRITTEN), or, when that cannot be read off it, against every table (ANY_TABLE).
READ_ONLY_STATEMENTS = {"SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "SET"}
WRITTEN = re.compile(
    r"\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)\"?[\s(]", re.I
)
ANY_TABLE = "*"


def refused(call: Any, what: str = "") -> Any:
    """Call a service; a refusal is a legitimate outcome of a random step (None)."""
    try:
        result = call()
    except (Refused, InvalidWorkup) as refusal:
        event(f"refused {what}: {type(refusal).__name__}")
        SEEN[f"refused {what}"] += 1
        return None
    event(f"done {what}")
    SEEN[f"done {what}"] += 1
    return result


class ClinicMachine(RuleBasedStateMachine):
    users: dict[str, Any] = {}

    encounters = Bundle("encounters")

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint()
        self.clock = time_machine.travel(
            timezone.make_aware(datetime(2026, 11, 24, 12)), tick=False
        )
        self.clock.start()
        self.days = 0
        # Facts observed when a step succeeded, checked against what the step required.
        self.recorded: list[tuple[int, bool, str]] = []
        # The statements that wrote to each table (WRITTEN), and what each invariant saw when
        # it last looked: it checks what changed since (see the invariants).
        self.writes: Counter[str] = Counter()
        self.watching = contextlib.ExitStack()
        self.watching.enter_context(connection.execute_wrapper(self.note_writes))
        self.recorded_checked = 0  # the facts above checked so far
        self.writes_seen: dict[str, int] = {}  # the writes to its tables when it last looked
        self.marks: dict[str, int] = {}  # the last id it saw in an append-only table
        self.snapshots: dict[str, dict[int, tuple[Any, ...]]] = {}  # the columns it checks
        self.signed: set[tuple[int, str]] = set()  # (consultation, fingerprint) signed

    def teardown(self) -> None:
        self.watching.close()
        self.clock.stop()
        transaction.savepoint_rollback(self.savepoint)

    def note_writes(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        """Count each statement that may change rows against the table it writes to (an
        unrecognised one against every table)."""
        statement = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if statement not in READ_ONLY_STATEMENTS:
            written = WRITTEN.match(sql)
            self.writes[written.group(1).lower() if written else ANY_TABLE] += 1
        return execute(sql, params, many, context)

    def user(self, role: str) -> Any:
        return self.users[role]

    # --- steps ----------------------------------------------------------------------------

    @rule(target=encounters, role=st.sampled_from(ROLES), variant=st.sampled_from(list(VARIANTS)))
    def import_workup(self, role: str, variant: str) -> Any:
        pid = f"sm-{next(IDS)}"
        workup = workup_from_dict(document(patient__id=pid, **VARIANTS[variant]))
        encounter = consult.workup_import(
            workup=workup, actor=acting(self.user(role)), names=("Sam", pid)
        )
        return encounter.pk

    @rule(encounter=encounters, role=st.sampled_from(ROLES))
    def review_the_mri(self, encounter: int, role: str) -> None:
        patient = Encounter.objects.get(pk=encounter).patient
        for study in patient.imaging.all():
            refused(
                lambda s=study: consult.study_review(
                    patient=patient, study_id=s.pk, actor=acting(self.user(role))
                ),
                "study_review",
            )

    @rule(
        encounter=encounters,
        role=st.sampled_from(ROLES),
        move=st.sampled_from([0, -40, 400]),
        pfirrmann=st.sampled_from([None, 3, 5]),
        attest=st.booleans(),
    )
    def edit_the_mri(
        self, encounter: int, role: str, move: int, pfirrmann: int | None, attest: bool
    ) -> None:
        patient = Encounter.objects.get(pk=encounter).patient
        study = patient.imaging.first()
        if study is None:
            return
        findings = [{"level": "L4-L5", "pfirrmann": pfirrmann}] if pfirrmann else []
        refused(
            lambda: consult.study_save(
                patient=patient,
                actor=acting(self.user(role)),
                study_id=study.pk,
                fields={"performed_on": study.performed_on - timedelta(days=move)},
                findings=findings,
                attest=attest,
            ),
            "study_save",
        )

    @rule(encounter=encounters, role=st.sampled_from(ROLES), relief=st.sampled_from([40, 90]))
    def add_a_block(self, encounter: int, role: str, relief: int) -> None:
        patient = Encounter.objects.get(pk=encounter).patient
        fields = {
            "kind": "medial_branch",
            "performed_on": date(2026, 10, 1),
            "levels": ["L5-S1"],
            "relief_pct": relief,
        }
        refused(
            lambda: consult.block_add(
                patient=patient, actor=acting(self.user(role)), fields=fields
            ),
            "block_add",
        )

    @rule(encounter=encounters, role=st.sampled_from(ROLES), edit=st.sampled_from(HISTORY_EDITS))
    def edit_the_consultation(self, encounter: int, role: str, edit: tuple[str, Any]) -> None:
        record = Encounter.objects.get(pk=encounter)
        refused(
            lambda: consult.encounter_save(
                encounter=record, actor=acting(self.user(role)), step="history", fields=dict([edit])
            ),
            "encounter_save",
        )

    @rule(encounter=encounters, role=st.sampled_from(ROLES), stale=st.booleans())
    def sign(self, encounter: int, role: str, stale: bool) -> None:
        record = Encounter.objects.get(pk=encounter)
        try:
            fingerprint = "0" * 64 if stale else consult.decision_review(record).fingerprint
        except InvalidWorkup:
            return
        refused(
            lambda: consult.decision_sign(
                encounter=record,
                actor=acting(self.user(role)),
                token=f"sm-{next(IDS)}".ljust(24, "x"),
                fingerprint=fingerprint,
            ),
            "decision_sign",
        )

    @rule(target=encounters)
    def a_clinician_treats_a_new_candidate(self) -> Any:
        """The usual path in one step, for a new candidate: import, review the MRI, sign what
        is shown, write the plan, have it accepted, inject (each a service call that may
        refuse), so every example reaches the later gates."""
        encounter = self.import_workup("clinician", "candidate")
        self.a_clinician_takes_it_to_an_accepted_plan(encounter)
        return encounter

    @rule(encounter=encounters)
    def a_clinician_takes_it_to_an_accepted_plan(self, encounter: int) -> None:
        """The usual path in one step: review the MRI, sign what is shown, write the plan and
        have the patient accept it (each still a service call that may refuse)."""
        self.review_the_mri(encounter, "clinician")
        self.sign(encounter, "clinician", stale=False)
        self.write_a_plan(encounter, "clinician", accept=True, early=True)
        self.record_a_procedure(encounter, "clinician", days_ago=0, key=None)

    @rule(target=encounters, role=st.sampled_from(ROLES))
    def a_signed_consultation_is_corrected(self, role: str) -> Any:
        """A correction after signing, in one step for a new candidate: a clinician reviews
        the MRI and signs, then someone (a random role) opens an amendment, so every example
        can reach amendments and what follows them (the consultation stays in the bundle)."""
        encounter = self.import_workup("clinician", "candidate")
        self.review_the_mri(encounter, "clinician")
        self.sign(encounter, "clinician", stale=False)
        self.amend(encounter, role)
        return encounter

    @rule(
        target=encounters,
        encounter=encounters,
        role=st.sampled_from(ROLES),
        days_later=st.sampled_from([0, 10, 60]),
    )
    def open_a_newer_consultation(self, encounter: int, role: str, days_later: int) -> Any:
        """A patient back for another consultation: it may record warnings without being
        signed, and an older one may be signed after it (both refused or stopped)."""
        patient = Encounter.objects.get(pk=encounter).patient
        day = min(REVIEW_DAY + timedelta(days=days_later), timezone.localdate())
        newer = refused(
            lambda: consult.encounter_start(
                patient=patient, actor=acting(self.user(role)), assessed_on=day
            ),
            "encounter_start",
        )
        return newer.pk if newer is not None else encounter

    @rule(encounter=encounters, role=st.sampled_from(ROLES), weeks=st.sampled_from([1, 52]))
    def record_an_earlier_surgery(self, encounter: int, role: str, weeks: int) -> None:
        record = Encounter.objects.get(pk=encounter)
        day = min(record.assessed_on, timezone.localdate()) - timedelta(weeks=weeks)
        refused(
            lambda: consult.procedure_add(
                patient=record.patient,
                through=record,
                actor=acting(self.user(role)),
                fields={"kind": "fusion", "performed_on": day, "levels": ["L4-L5"]},
            ),
            "procedure_add",
        )

    @rule(encounter=encounters, role=st.sampled_from(ROLES))
    def amend(self, encounter: int, role: str) -> None:
        record = Encounter.objects.get(pk=encounter)
        refused(
            lambda: consult.encounter_amend(
                encounter=record, actor=acting(self.user(role)), reason="A correction after signing"
            ),
            "encounter_amend",
        )

    @rule(
        encounter=encounters,
        role=st.sampled_from(ROLES),
        accept=st.booleans(),
        typed=st.sampled_from(["the patient's name", "another name"]),
        releaser=st.sampled_from(ROLES),
        stale=st.sampled_from([False, False, True]),
    )
    def write_a_plan(
        self,
        encounter: int,
        role: str,
        accept: bool,
        typed: str = "the patient's name",
        releaser: str = "clinician",
        stale: bool = False,
        early: bool = False,
    ) -> None:
        patient = Encounter.objects.get(pk=encounter).patient
        standing = decision_in_force(patient)
        plan = refused(
            lambda: plans.plan_create(patient=patient, actor=acting(self.user(role))), "plan_create"
        )
        if plan is None:
            return
        self.recorded.append((plan.pk, standing.is_candidate, "plan"))
        if not accept:
            return
        if early:
            # Before the clinician releases it: the patient accepting the draft, and a
            # coordinator releasing it (both refused).
            refused(
                lambda: acceptance.plan_accept(
                    plan=plan,
                    typed_name=f"Sam {patient.external_id}",
                    actor=acting(self.user(role)),
                ),
                "plan_accept",
            )
            refused(
                lambda: acceptance.plan_release(
                    actor=acting(self.user("coordinator")),
                    plan_id=plan.pk,
                    shown=plan_content_hash(plan),
                ),
                "plan_release",
            )
        # Released (a coordinator's release, or of a page older than the plan, is refused),
        # then accepted by ``role``: refused unless a clinician released it.
        shown = "0" * 64 if stale else plan_content_hash(plan)
        refused(
            lambda: acceptance.plan_release(
                actor=acting(self.user(releaser)), plan_id=plan.pk, shown=shown
            ),
            "plan_release",
        )
        refused(
            lambda: acceptance.plan_accept(
                plan=plan,
                typed_name=f"Sam {patient.external_id}"
                if typed != "another name"
                else "Someone Else",
                actor=acting(self.user(role)),
            ),
            "plan_accept",
        )

    def newest_plan(self, encounter: int) -> CarePlan | None:
        """The patient's newest plan; with none yet, a clinician writes one (refused unless a
        candidate decision is in force)."""
        plan = CarePlan.objects.filter(patient__encounters=encounter).order_by("-version").first()
        if plan is not None:
            return plan
        patient = Encounter.objects.get(pk=encounter).patient
        return refused(
            lambda: plans.plan_create(patient=patient, actor=acting(self.user("clinician"))),
            "plan_create",
        )

    @rule(
        encounter=encounters,
        role=st.sampled_from(ROLES),
        stale=st.sampled_from([False, False, True]),
    )
    def release_the_latest_version(self, encounter: int, role: str, stale: bool) -> None:
        """Someone releases the patient's newest plan to them: a draft, or one released or
        accepted already (refused unless a clinician releases a draft as it stands)."""
        plan = self.newest_plan(encounter)
        if plan is None:
            return
        shown = "0" * 64 if stale else plan_content_hash(plan)
        refused(
            lambda: acceptance.plan_release(
                actor=acting(self.user(role)), plan_id=plan.pk, shown=shown
            ),
            "plan_release",
        )

    @rule(
        encounter=encounters,
        role=st.sampled_from(ROLES),
        typed=st.sampled_from(["the patient's name", "another name"]),
    )
    def accept_the_latest_version(self, encounter: int, role: str, typed: str) -> None:
        """The patient accepts the newest plan in the clinic: a draft not yet released, one
        released, or one accepted or superseded already (refused unless it is the released
        version and the name is theirs)."""
        plan = self.newest_plan(encounter)
        if plan is None:
            return
        patient = plan.patient
        refused(
            lambda: acceptance.plan_accept(
                plan=plan,
                typed_name=f"Sam {patient.external_id}" if typed != "another name" else "Al Bo",
                actor=acting(self.user(role)),
            ),
            "plan_accept",
        )

    @rule(
        encounter=encounters,
        role=st.sampled_from(ROLES),
        days_ago=st.sampled_from([-1, 0, 3, 40]),
        key=st.sampled_from(["a", "b", None]),
    )
    def record_a_procedure(self, encounter: int, role: str, days_ago: int, key: str | None) -> None:
        patient = Encounter.objects.get(pk=encounter).patient
        plan = accepted_plan(patient)
        line = plan.lines.filter(phase="inject").first() if plan else None
        target = (
            Target(line.generator, line.level or None, line.side or None)
            if line
            else Target("discogenic", "L4-L5", None)
        )
        day = timezone.localdate() - timedelta(days=days_ago)
        standing = decision_in_force(patient)
        warning = gates.warning_standing(patient_standing(patient), clinic_policy())
        mri = (
            ImagingStudy.objects.filter(patient=patient, modality="MRI", performed_on__lte=day)
            .order_by("-performed_on", "-id")
            .first()
        )
        mri_ok = bool(
            mri
            and mri.reviewed
            and mri.performed_on >= months_before(day, clinic_policy().mri_max_age_months)
        )
        submission = f"{patient.pk}-{key}".ljust(16, "k") if key else None
        before = Procedure.objects.count()
        procedure = refused(
            lambda: procedure_record(
                patient=patient,
                actor=acting(self.user(role)),
                target=target,
                performed_on=day,
                material=line.material if line else "msc",
                guidance=line.guidance if line else "fluoroscopy",
                submission_key=submission,
                **injection_details(
                    line.product_kind if line and line.product_kind else "bmac",
                    time_out_by=self.user("coordinator"),
                    guidance=line.guidance if line else "fluoroscopy",
                ),
            ),
            "procedure_record",
        )
        if procedure is not None and Procedure.objects.count() > before:
            # A new injection: everything the gate promises held when it was recorded.
            assert standing.is_candidate, standing.problem
            assert warning is None, f"an injection while a warning stands: {warning}"
            assert plan is not None and line is not None
            assert mri_ok, f"MRI {mri} not reviewed or out of window on {day}"
            assert is_clinician(self.user(role))
            # PATHWAY.md section 10: the lot of the kind the plan gives, the checks done.
            assert procedure.lot_id is not None
            assert procedure.lot.product.kind == (line.product_kind or procedure.lot.product.kind)
            assert procedure.consent_confirmed and procedure.site_marked
            assert procedure.time_out_done and procedure.time_out_by_id is not None

    @rule(role=st.sampled_from(ROLES))
    def void_a_procedure(self, role: str) -> None:
        procedure = Procedure.objects.filter(voided_at__isnull=True).order_by("?").first()
        if procedure is not None:
            refused(
                lambda: procedure_void(
                    procedure=procedure,
                    actor=acting(self.user(role)),
                    reason="Entered on the wrong chart",
                ),
                "procedure_void",
            )

    @rule(
        role=st.sampled_from(ROLES), offset=st.sampled_from([-60, -5, 0, 20]), confirm=st.booleans()
    )
    def enter_a_questionnaire(self, role: str, offset: int, confirm: bool) -> None:
        visit = ReassessmentVisit.objects.filter(measurement__isnull=True).order_by("?").first()
        if visit is None:
            return
        refused(
            lambda: questionnaire_link_create(actor=acting(self.user(role)), visit=visit),
            "questionnaire_link_create",
        )
        day = min(visit.due + timedelta(days=offset), timezone.localdate())
        refused(
            lambda: paper_form_enter(
                actor=acting(self.user(role)),
                visit=visit,
                answers=ANSWERS,
                measured_on=day,
                outside_window_confirmed=confirm,
            ),
            "paper_form_enter",
        )

    @precondition(lambda self: self.days < 800)
    @rule(days=st.sampled_from([1, 30, 120, 400]))
    def move_the_clock(self, days: int) -> None:
        self.days += days
        self.clock.stop()
        moment = timezone.make_aware(datetime(2026, 11, 24, 12)) + timedelta(days=self.days)
        self.clock = time_machine.travel(moment, tick=False)
        self.clock.start()

    # --- invariants -----------------------------------------------------------------------
    #
    # Each invariant checks what the steps changed since it last ran (after the step before),
    # not the whole database again. A table no statement wrote to since then is not read at
    # all; in one that was written to, it checks the rows added to an append-only table (the
    # field-level history, the signed decisions, which the database refuses to change) past
    # the last id it saw, and the rows of another table whose checked columns differ from its
    # last snapshot of them (one query of those columns). A row that did not change, and whose
    # related rows did not change, still holds what it held when it was checked; so each
    # invariant still holds on the whole database after every step. A change to anyone's
    # roles (no step makes one) has the invariants that ask for a role check everything again.

    def written(self, name: str, *models_: Any) -> bool:
        """Whether a statement wrote to the tables of ``models_`` since the invariant
        ``name`` last asked (the first time: yes)."""
        count = self.writes[ANY_TABLE] + sum(self.writes[m._meta.db_table] for m in models_)
        if self.writes_seen.get(name) == count:
            return False
        self.writes_seen[name] = count
        return True

    def roles_changed(self, name: str) -> bool:
        """Whether anyone's roles may have changed since the invariant ``name`` last asked
        (never, the first time: the users are made before the machine starts)."""
        first = f"roles {name}" not in self.writes_seen
        return self.written(f"roles {name}", User, User.groups.through, Group) and not first

    def changed(self, name: str, rows: Any, *columns: str) -> dict[int, tuple[Any, Any]]:
        """The rows of ``rows`` added, changed or removed (in ``columns``) since the invariant
        ``name`` last looked: {pk: (values before or None, values now or None)}."""
        if not self.written(name, rows.model):
            return {}
        now = {pk: tuple(values) for pk, *values in rows.values_list("pk", *columns)}
        before = self.snapshots.get(name, {})
        self.snapshots[name] = now
        return {
            pk: (before.get(pk), now.get(pk))
            for pk in now.keys() | before.keys()
            if before.get(pk) != now.get(pk)
        }

    def added(self, name: str, rows: Any, key: str = "pk") -> list[Any]:
        """The rows of an append-only table added since the invariant ``name`` last looked."""
        if not self.written(name, rows.model):
            return []
        new = list(rows.filter(**{f"{key}__gt": self.marks.get(name, 0)}).order_by(key))
        if new:
            self.marks[name] = getattr(new[-1], key)
        return new

    @invariant()
    def plans_only_from_a_candidate_decision_in_force(self) -> None:
        for plan_id, was_candidate, _ in self.recorded[self.recorded_checked :]:
            assert was_candidate, f"plan {plan_id} written without a candidate decision in force"
        self.recorded_checked = len(self.recorded)
        changed = self.changed("plans", CarePlan.objects.all(), "decision_id")
        assert not changed or (
            not CarePlan.objects.filter(pk__in=changed)
            .exclude(decision__decision="candidate")
            .exists()
        )

    @invariant()
    def procedures_follow_their_decision_and_acceptance_and_the_plans_count(self) -> None:
        # A plan is checked whole (its live procedures, each against the plan and its lines)
        # when its row, one of its lines or one of its procedures changed.
        plans_now = self.changed(
            "acceptances", CarePlan.objects.all(), "accepted_at", "decision_id"
        )
        lines = self.changed(
            "plan lines",
            PlanLine.objects.all(),
            *("plan_id", "phase", "generator", "level", "side", "quantity"),
        )
        procedures = self.changed(
            "procedures",
            Procedure.objects.all(),
            *("plan_id", "performed_on", "generator", "level", "side", "operator_id"),
            "voided_at",
        )
        touched = set(plans_now)
        for changes in (lines, procedures):
            touched |= {v[0] for pair in changes.values() for v in pair if v is not None}
        if self.roles_changed("procedures"):  # each operator is a clinician: check them all
            touched |= set(CarePlan.objects.values_list("pk", flat=True))
        if not touched:
            return
        live = Procedure.objects.filter(plan_id__in=touched, voided_at__isnull=True)
        counts: dict[tuple[int, str, str, str], int] = {}
        for p in live.select_related("plan__decision"):
            assert p.plan.accepted_at is not None
            assert p.performed_on >= timezone.localdate(p.plan.accepted_at)
            assert p.performed_on >= timezone.localdate(p.plan.decision.signed_at)
            assert is_clinician(p.operator)
            key = (p.plan_id, p.generator, p.level, p.side)
            counts[key] = counts.get(key, 0) + 1
        for (plan_id, generator, level, side), count in counts.items():
            planned = sum(
                line.quantity
                for line in PlanLine.objects.filter(
                    plan_id=plan_id, phase="inject", generator=generator, level=level, side=side
                )
            )
            assert count <= planned

    @invariant()
    def only_a_version_a_clinician_released_is_ever_accepted(self) -> None:
        changed = self.changed(
            "releases",
            CarePlan.objects.all(),
            *("status", "released_at", "released_by_id", "accepted_at"),
        )
        roles_changed = self.roles_changed("releases")
        plans_ = (
            CarePlan.objects.all() if roles_changed else CarePlan.objects.filter(pk__in=changed)
        )
        for plan in plans_.select_related("released_by"):
            if plan.status == CarePlan.DRAFT:
                assert plan.released_at is None and plan.accepted_at is None
            if plan.accepted_at is not None or plan.status == CarePlan.RELEASED:
                assert plan.released_by is not None and is_clinician(plan.released_by), plan.pk
                assert plan.released_at is not None
            if plan.accepted_at is not None:
                assert plan.released_at is not None and plan.released_at <= plan.accepted_at

    @invariant()
    def only_a_clinician_ever_made_a_study_reviewed(self) -> None:
        if self.roles_changed("reviews"):
            self.marks.pop("study history", None)
            self.writes_seen.pop("study history", None)
        rows = ImagingStudy.history.select_related("reviewed_by")
        for row in self.added("study history", rows, "history_id"):
            if not row.reviewed:
                continue
            assert row.reviewed_by is not None and is_clinician(row.reviewed_by)
            assert row.history_user is not None and is_clinician(row.history_user)

    def new_pairs_of_history(self, name: str) -> Iterator[tuple[Any, Any]]:
        """(row before, row) for consecutive history rows of one consultation, in the order
        of the history, where either row was added since the invariant ``name`` last looked."""
        mark = self.marks.get(name, 0)
        new = self.added(name, Encounter.history.all(), "history_id")
        if not new:
            return
        rows = Encounter.history.filter(id__in={row.id for row in new})
        previous: dict[int, Any] = {}
        for row in rows.select_related("history_user").order_by("id", "history_date", "history_id"):
            before = previous.get(row.id)
            previous[row.id] = row
            if before is not None and max(before.history_id, row.history_id) > mark:
                yield before, row

    @invariant()
    def every_change_to_a_signed_consultation_is_an_amendment(self) -> None:
        for before, row in self.new_pairs_of_history("amendments"):
            if before.status != Encounter.FINISHED:
                continue
            changed = {
                f.attname
                for f in row._meta.fields
                if f.attname not in {"history_id", "history_date", "history_user_id"}
                and f.attname not in {"history_type", "history_change_reason", "updated_at"}
                and getattr(before, f.attname) != getattr(row, f.attname)
            }
            assert changed <= {"status"}, changed
            assert row.status in (Encounter.AMENDING, Encounter.FINISHED)

    @invariant()
    def signed_decisions_are_what_the_engine_decided_and_never_twice(self) -> None:
        for signed in self.added("decisions", CandidacyDecision.objects.all()):
            key = (signed.encounter_id, signed.fingerprint)
            assert key not in self.signed, "the same review signed twice"
            self.signed.add(key)

    @invariant()
    def no_signature_of_a_consultation_once_a_newer_one_existed(self) -> None:
        """The decision in force is the latest consultation's: no consultation was signed
        anew while a newer one (by review date) already existed. Checked for the new
        decisions, and again for every decision of a patient whose consultations changed."""
        new = {d.pk for d in self.added("signatures", CandidacyDecision.objects.all())}
        encounters = self.changed(
            "consultations", Encounter.objects.all(), "patient_id", "assessed_on", "created_at"
        )
        patients = {v[0] for pair in encounters.values() for v in pair if v is not None}
        if not new and not patients:
            return
        decisions = CandidacyDecision.objects.filter(
            models.Q(pk__in=new) | models.Q(patient_id__in=patients)
        )
        for signed in decisions.select_related("encounter"):
            mine = (signed.encounter.assessed_on, signed.encounter_id)
            newer = [
                e
                for e in Encounter.objects.filter(
                    patient_id=signed.patient_id, created_at__lt=signed.signed_at
                )
                if (e.assessed_on, e.pk) > mine
            ]
            assert not newer, f"decision {signed.pk} signed after consultation {newer[0].pk}"

    @invariant()
    def no_clinician_fact_disappears_through_another_roles_edit(self) -> None:
        if self.roles_changed("facts"):
            self.marks.pop("clinician facts", None)
            self.writes_seen.pop("clinician facts", None)
        for before, row in self.new_pairs_of_history("clinician facts"):
            if row.history_user is None or is_clinician(row.history_user):
                continue
            for name, role in (before.stated_by or {}).items():
                if role == "clinician":
                    assert getattr(row, name) == getattr(before, name), (
                        f"{name} stated by a clinician changed by {row.history_user}"
                    )

    @invariant()
    def counted_measurements_lie_in_their_window(self) -> None:
        measurements = self.changed(
            "measurements",
            OutcomeMeasurement.objects.all(),
            *("visit_id", "measured_on", "outside_window"),
        )
        visits = self.changed("windows", ReassessmentVisit.objects.all(), "opens", "closes")
        if not measurements and not visits:
            return
        for m in OutcomeMeasurement.objects.filter(
            models.Q(pk__in=measurements) | models.Q(visit_id__in=visits),
            outside_window=False,
            visit__isnull=False,
        ).select_related("visit"):
            assert m.visit.opens <= m.measured_on <= m.visit.closes


def _pdf_of(html: str, *args: Any, **kwargs: Any) -> bytes:
    """The accepted plan's document, not laid out: WeasyPrint took 0.66 s an acceptance, a
    third of this test. The bytes still differ with the content (its SHA-256 is kept), and
    the real PDF is tested on the plan pages, the patient's pages and the browser tests."""
    return b"%PDF-1.7 (layout skipped in the state machine) " + html.encode()


def test_the_clinics_promises_hold_through_random_sequences(db: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("spinepath.plans.pdf.html_to_pdf", _pdf_of)
    ClinicMachine.users = {
        "clinician": staff_user_create(
            actor=Actor.system(), username="sm-clin", password=PASSWORD, role="clinician"
        ),
        "coordinator": staff_user_create(
            actor=Actor.system(), username="sm-coord", password=PASSWORD, role="coordinator"
        ),
    }
    run_state_machine_as_test(
        ClinicMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    # The search reached every gate, both ways (a machine that never records a procedure
    # would check nothing about procedures).
    for step in (
        *("decision_sign", "plan_release", "plan_accept", "procedure_record", "encounter_amend"),
    ):
        assert SEEN[f"done {step}"] > 0, step
    for step in (
        *("decision_sign", "procedure_record", "encounter_amend", "plan_create", "plan_release"),
        "plan_accept",
    ):
        assert SEEN[f"refused {step}"] > 0, step
