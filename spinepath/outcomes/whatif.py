"""The policy what-if over the clinic's records: each patient's latest signed workup, decided
again under a draft policy by the pure engine (spinepath/pathway/rescreen.py).

The rows are streamed in chunks, so memory stays flat at any number of patients. A workup that
no longer parses (a format older than today's) is counted apart, never silently dropped.

Uploading, restarting and adopting a draft are the clinic admin's writes (the ``policy_draft``
fact of the authority table); a draft's run is a job of its own that saves its progress as it
goes.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from spinepath.actions import action, after_commit
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.models import CandidacyDecision
from spinepath.errors import Conflict, Invalid, NotAvailable
from spinepath.followup.models import OutcomeMeasurement
from spinepath.outcomes.model import draft_population
from spinepath.pathway.policy import InvalidPolicy, Policy, parse_policy
from spinepath.pathway.rescreen import Rescreen, rescreen
from spinepath.pathway.workup import InvalidWorkup, Workup, parse_workup
from spinepath.policies import default_policy
from spinepath.policies.models import AdoptedPolicy, PolicyDraft
from spinepath.web.policy import clinic_policy, file_policy, forget_policy

CHUNK = 2000


def latest_signed() -> QuerySet[CandidacyDecision]:
    """Each patient's latest signed decision (the one a policy change would touch)."""
    latest = CandidacyDecision.objects.values("patient_id").annotate(last=Max("id")).values("last")
    return CandidacyDecision.objects.filter(id__in=latest)


def signed_count() -> int:
    return CandidacyDecision.objects.values("patient_id").distinct().count()


def signed_workups(skipped: list[str] | None = None) -> Iterator[tuple[str, str, Workup]]:
    rows = (
        latest_signed()
        .order_by("id")
        .values_list("patient__mrn", "decision", "workup_json")
        .iterator(chunk_size=CHUNK)
    )
    for mrn, decision, workup in rows:
        try:
            yield mrn or "", decision, parse_workup(orjson.dumps(workup))
        except InvalidWorkup:
            if skipped is not None:
                skipped.append(mrn or "")


def rescreen_clinic(
    policy: Policy, progress: Callable[[int], None] | None = None
) -> tuple[Rescreen, list[str]]:
    """(the what-if, the record numbers whose stored workup could not be read)."""
    skipped: list[str] = []
    return rescreen(signed_workups(skipped), policy, progress), skipped


# --- Drafts uploaded by the clinic admin, their background runs, adoption ---------------------

PROGRESS_EVERY = 1000


@action("policy_draft")
def draft_upload(*, actor: Actor, text: str) -> PolicyDraft:
    """Check a draft policy as the clinic's file is checked (over the defaults) and keep it.
    Its run starts once it is stored (:func:`draft_start`, by the caller)."""
    try:
        policy = parse_policy(text, base=file_policy())
    except InvalidPolicy as exc:
        message = f"{exc.key}: {exc.reason}"
        raise Invalid(
            f"The draft policy cannot be used - {message}", fields={"policy": message}
        ) from None
    draft = PolicyDraft.objects.create(
        name=policy.name,
        version=policy.version,
        text=text,
        uploaded_by=actor.user,
        total=signed_count(),
    )
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"draft policy {policy.name} {policy.version} uploaded for a what-if",
    )
    return draft


def draft_start(draft: PolicyDraft) -> None:
    """Run the what-if in its own process (a page request never waits for it); inline when
    SPINEPATH_JOBS_INLINE is set (tests)."""
    if settings.SPINEPATH_JOBS_INLINE:
        draft_run(draft.pk)
        return
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "spinepath.cli", "rescreen", "--draft", str(draft.pk)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        PolicyDraft.objects.filter(pk=draft.pk).update(
            status=PolicyDraft.FAILED,
            error=f"the run could not start: {exc}",
            finished_at=timezone.now(),
        )
        return
    # Collect its exit status when it ends (no defunct process left in the worker).
    threading.Thread(target=process.wait, daemon=True).start()


STALL_SECONDS = 120


def stalled(draft: PolicyDraft) -> bool:
    """A run that said nothing for STALL_SECONDS (its process died): it may be started again."""
    if draft.status not in (PolicyDraft.QUEUED, PolicyDraft.RUNNING):
        return False
    since = draft.heartbeat or draft.uploaded_at
    return (timezone.now() - since).total_seconds() > STALL_SECONDS


def draft_restart(*, actor: Actor, draft_id: int) -> PolicyDraft:
    """Start again a run that stalled or failed (a second click changes nothing). The run
    starts once the draft is queued again and committed: its own process reads it."""
    draft, queued = _draft_requeue(actor=actor, draft_id=draft_id)
    if queued:
        draft_start(draft)
    return PolicyDraft.objects.get(pk=draft_id)


@action("policy_draft")
def _draft_requeue(*, actor: Actor, draft_id: int) -> tuple[PolicyDraft, bool]:
    """(the draft, whether it was queued again: only a run that stalled or failed is)."""
    draft = PolicyDraft.objects.select_for_update().filter(pk=draft_id).first()
    if draft is None:
        raise NotAvailable("There is no such draft.")
    if not (stalled(draft) or draft.status == PolicyDraft.FAILED):
        return draft, False
    PolicyDraft.objects.filter(pk=draft_id).update(
        status=PolicyDraft.QUEUED, done=0, error="", heartbeat=timezone.now()
    )
    draft.refresh_from_db()
    return draft, True


def draft_run(draft_id: int) -> PolicyDraft:
    """The what-if of a draft: progress saved every PROGRESS_EVERY workups, then the report
    with the observed outcomes of treated patients it would move, beside everyone else's."""
    claimed = PolicyDraft.objects.filter(pk=draft_id, status=PolicyDraft.QUEUED).update(
        status=PolicyDraft.RUNNING, total=signed_count(), heartbeat=timezone.now()
    )
    draft = PolicyDraft.objects.get(pk=draft_id)
    if not claimed:
        return draft  # already running or done (a second start changes nothing)
    try:
        policy = parse_policy(draft.text, base=file_policy())

        def progress(done: int) -> None:
            PolicyDraft.objects.filter(pk=draft_id).update(done=done, heartbeat=timezone.now())

        skipped: list[str] = []
        result = rescreen(signed_workups(skipped), policy, progress, PROGRESS_EVERY)
        report = result.as_json()
        report["unreadable"] = skipped
        report["outcomes"] = outcomes_side_by_side(
            {c.patient for c in result.changes if c.before == "candidate"},
            {c.patient for c in result.changes if c.after == "candidate"},
        )
        # The clinic's model of 12-month pain response (outcomes/model.py): the courses it is
        # fitted on whose patients the draft would no longer call candidates.
        report["model"] = draft_population(
            {c.patient for c in result.changes if c.before == "candidate"},
            timezone.localdate(),
        ) | {"min_patients": policy.model_min_patients}
        report["changes"] = [
            {"patient": c.patient, "before": c.before, "after": c.after}
            for c in sorted(result.changes, key=lambda c: c.patient)[:1000]
        ]
        PolicyDraft.objects.filter(pk=draft_id).update(
            status=PolicyDraft.DONE,
            done=result.workups,
            result=report,
            finished_at=timezone.now(),
        )
    except Exception as exc:  # the page says the run failed, and why; nothing half-saved
        PolicyDraft.objects.filter(pk=draft_id).update(
            status=PolicyDraft.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
    return PolicyDraft.objects.get(pk=draft_id)


def outcomes_side_by_side(
    excluded: set[str], included: set[str] | None = None
) -> list[dict[str, Any]]:
    """Per visit: the pain responders among treated patients the draft would exclude (a
    ``candidate`` decision no longer) and include (``candidate`` now), beside everyone else
    treated (measurements inside their windows only)."""
    included = included or set()
    counts: dict[str, dict[str, list[int]]] = defaultdict(
        lambda: {"excluded": [0, 0], "included": [0, 0], "rest": [0, 0]}
    )
    labels: dict[str, str] = {}
    rows = (
        OutcomeMeasurement.objects.filter(
            visit__isnull=False, outside_window=False, pain_responder__isnull=False
        )
        .values_list(
            "visit__key", "visit__label", "visit__position", "patient__mrn", "pain_responder"
        )
        .order_by()
        .iterator(chunk_size=CHUNK)
    )
    order: dict[str, int] = {}
    for key, label, position, mrn, responder in rows:
        labels[key], order[key] = label, position
        name = "excluded" if mrn in excluded else "included" if mrn in included else "rest"
        group = counts[key][name]
        group[0] += 1
        group[1] += int(bool(responder))
    out = []
    for key in sorted(counts, key=lambda k: order[k]):
        entry: dict[str, Any] = {"visit": labels[key]}
        for group, (n, responders) in counts[key].items():
            entry[group] = {
                "measured": n,
                "responders": responders,
                "rate": round(responders / n, 3) if n else None,
            }
        entry["groups"] = [entry["excluded"], entry["included"], entry["rest"]]
        out.append(entry)
    return out


@action("policy_draft")
def draft_adopt(*, actor: Actor, draft_id: int) -> AdoptedPolicy:
    """The draft becomes the clinic's policy from now on (every worker reads it within
    seconds). Decisions already signed keep the version they were made under."""
    draft = PolicyDraft.objects.select_for_update().filter(pk=draft_id).first()
    if draft is None:
        raise NotAvailable("There is no such draft.")
    if hasattr(draft, "adopted"):
        return draft.adopted  # a second click adopts once
    if draft.status != PolicyDraft.DONE:
        raise Conflict("Run the what-if to the end before adopting the draft.")
    current = clinic_policy(fresh=True)
    if label_taken(draft.name, draft.version):
        message = (
            f"{draft.name} {draft.version} already names a policy: give the draft a new version."
        )
        raise Conflict(message)
    try:
        with transaction.atomic():
            adopted = AdoptedPolicy.objects.create(
                name=draft.name,
                version=draft.version,
                text=draft.text,
                draft=draft,
                adopted_by=actor.user,
            )
    except IntegrityError as clash:
        raise Conflict("This draft was adopted a moment ago.") from clash
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"policy {draft.name} {draft.version} adopted (was {current.name} {current.version})",
        detail={"from": [current.name, current.version], "to": [draft.name, draft.version]},
    )
    after_commit(forget_policy)
    return adopted


def label_taken(name: str, version: str) -> bool:
    """Whether a name and version already label a set of rules: the policy in force, the
    clinic's file, the shipped defaults, a version adopted here, or any signed decision's."""
    known = {
        (p.name, p.version) for p in (clinic_policy(fresh=True), file_policy(), default_policy())
    }
    return (
        (name, version) in known
        or AdoptedPolicy.objects.filter(name=name, version=version).exists()
        or CandidacyDecision.objects.filter(policy_name=name, policy_version=version).exists()
    )
