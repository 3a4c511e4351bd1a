"""The review, the signature, amendments and a signed decision's page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import conditional_escape
from django.views.decorators.http import (
    require_POST,
    require_safe,
)

from spinepath.accounts.actors import actor_of, staff_actor
from spinepath.accounts.roles import OUTCOMES_READERS
from spinepath.audit.middleware import viewing
from spinepath.consultations import actions, selectors
from spinepath.consultations.forms import (
    AmendForm,
)
from spinepath.consultations.models import (
    CandidacyDecision,
    Encounter,
)
from spinepath.consultations.views.common import (
    SEES,
    _audit_view,
    _context,
)
from spinepath.errors import Invalid
from spinepath.pathway import gates
from spinepath.pathway.gates import sign_refusal
from spinepath.pathway.workup import InvalidWorkup
from spinepath.versions.triggers import patient_version
from spinepath.web.kept import kept, kept_key, placeholder, render_part, shown
from spinepath.web.policy import clinic_policy


def _review_page(
    request: HttpRequest, encounter: Encounter, *, status: int = 200, notice: str = ""
) -> HttpResponse:
    """The review. Its body is kept under the version of the patient's facts (and the day, and
    what the viewer may do), read before the facts; a review shown again with a notice (the
    facts changed under a signature) is computed afresh."""
    actor = actor_of(request)
    may = {"can_sign": actor.may("decision"), "may_trace": actor.has_role(*OUTCOMES_READERS)}
    if notice:
        body = _review_body(encounter, may, notice)
    else:
        key = kept_key(
            "review",
            encounter.pk,
            patient_version(encounter.patient_id),
            timezone.localdate().isoformat(),
            "".join("1" if allowed else "0" for allowed in may.values()),
        )
        # The encounter read again after the versions: the one read before them may be older.
        body = kept(key, lambda: _review_body(selectors.encounter_get(encounter.pk), may, ""))
    user = request.user
    signer = user.get_full_name() or user.get_username()  # type: ignore[union-attr]
    return render(
        request,
        "consultations/review.html",
        _context(
            encounter,
            "review",
            body=shown(
                request,
                body,
                {
                    placeholder("signature token"): actions.new_signature_token(),
                    placeholder("signer"): str(conditional_escape(signer)),
                },
            ),
        ),
        status=status,
    )


def _review_body(encounter: Encounter, may: dict[str, bool], notice: str) -> str:
    # The patient's records, read once for the review, the decision in force and the gate.
    read = selectors.consultation_records(encounter.patient)
    try:
        review = actions.decision_review(encounter, records=read.records)
        decision, errors, fingerprint = review.decision, [], review.fingerprint
        workup_now = review.workup
    except InvalidWorkup as exc:
        decision, errors, fingerprint, workup_now = None, exc.errors, "", None
    signed = sorted(
        (d for d in read.decisions if d.encounter_id == encounter.pk),
        key=lambda d: (d.signed_at, d.pk),
        reverse=True,
    )
    consultations = selectors.consultation_standing(encounter.patient, read=read)
    standing = (
        selectors.decision_in_force(encounter.patient, consultations, read.decisions)
        if signed
        else None
    )
    # Signing once a newer consultation exists is refused: the page says so before the click.
    sign_refused = sign_refusal(consultations, encounter.pk)
    # The facts a signature binds, as the gate compares them (gates.decision_in_force): a
    # policy adopted since (a new version, a visit made standard) changes the review's
    # fingerprint but not the facts, and the decision stands as signed under its own policy.
    changed_since_signing = (
        encounter.is_locked
        and bool(signed)
        and selectors.facts_changed_since_signing(signed[0], workup_now)
    )
    odds = (
        selectors.candidate_odds(
            decision_json=decision.to_dict(),
            workup_json=workup_now.to_json_dict(),
            born=encounter.patient.birth_date,
            on=timezone.localdate(),
        )
        if decision is not None and workup_now is not None
        else None
    )
    policy = clinic_policy()
    signed_under = (signed[0].policy_name, signed[0].policy_version) if signed else None
    other_policy = signed_under is not None and signed_under != (policy.name, policy.version)
    return render_part(
        "consultations/_review_body.html",
        _context(
            encounter,
            "review",
            decision=decision,
            errors=errors,
            fingerprint=fingerprint,
            signature_token=placeholder("signature token"),
            signer=placeholder("signer"),
            signed=signed,
            amendments=encounter.amendments.select_related("opened_by", "closed_by"),
            standing=standing,
            changed_since_signing=changed_since_signing,
            signed_under=" ".join(signed_under) if other_policy and signed_under else "",
            policy_now=f"{policy.name} {policy.version}",
            sign_refused=sign_refused,
            notice=notice,
            odds=odds,
            **may,
        ),
    )


@require_safe
def review(request: HttpRequest, encounter_id: int) -> HttpResponse:
    staff_actor(request, sees=SEES)
    encounter = selectors.encounter_get(encounter_id)
    _audit_view(request, encounter, "candidacy review")
    return _review_page(request, encounter)


@require_POST
def sign(request: HttpRequest, encounter_id: int) -> HttpResponse:
    staff_actor(request, sees=SEES)
    encounter = selectors.encounter_get(encounter_id)
    fingerprint = request.POST.get("fingerprint", "")
    if len(fingerprint) != 64:
        raise Invalid("This review page is incomplete; reload it and sign again.")
    try:
        signed = actions.decision_sign(
            encounter=encounter,
            actor=actor_of(request),
            token=request.POST.get("token", ""),
            fingerprint=fingerprint,
        )
    except actions.ReviewChanged as changed:
        return _review_page(request, encounter, status=changed.status, notice=changed.reasons[0])
    except InvalidWorkup as exc:
        messages.error(request, f"Cannot sign: {exc}")
        return redirect("consultations:review", encounter.pk)
    label = signed.decision.replace("_", " ")
    if signed.newly_signed:  # type: ignore[attr-defined]
        messages.success(request, f"Decision signed: {label}.")
    else:
        messages.info(
            request, f"Already signed ({label}): nothing changed, nothing new was signed."
        )
    return redirect("consultations:decision", signed.pk)


@require_POST
def amend(request: HttpRequest, encounter_id: int) -> HttpResponse:
    staff_actor(request, sees=SEES)
    encounter = selectors.encounter_get(encounter_id)
    form = AmendForm(request.POST)
    if not form.is_valid():
        reason = form.errors.get("reason", ["Say why."])[0]
        raise Invalid(f"reason: {reason}", fields={"reason": reason})
    actions.encounter_amend(
        encounter=encounter, actor=actor_of(request), reason=form.cleaned_data["reason"]
    )
    messages.success(
        request,
        "Amendment opened: change what is wrong, then sign a new decision. Until then no plan "
        "or procedure relies on this consultation.",
    )
    return redirect("consultations:history", encounter.pk)


@require_safe
def decision_detail(request: HttpRequest, decision_id: int) -> HttpResponse:
    staff_actor(request, sees=SEES)
    signed = get_object_or_404(
        CandidacyDecision.objects.select_related("patient", "signed_by", "encounter"),
        pk=decision_id,
    )
    viewing(request, signed.patient)
    latest = selectors.latest_signed_decision(signed.patient)
    standing = selectors.decision_in_force(signed.patient)
    # The next step is the plan, when one may be written now (the price gate; its reason
    # otherwise, e.g. a new MRI awaiting a clinician's review).
    no_plan = gates.prices_refusal(selectors.consultation_standing(signed.patient), clinic_policy())
    return render(
        request,
        "consultations/decision.html",
        {
            "signed": signed,
            "d": signed.decision_json,
            "patient": signed.patient,
            "latest": latest,
            "superseded": latest is not None and latest.pk != signed.pk,
            "problem": standing.problem if standing.signed == signed else None,
            "no_plan": no_plan.sentence if no_plan is not None else None,
            "odds": selectors.candidate_odds(
                decision_json=signed.decision_json,
                workup_json=signed.workup_json,
                born=signed.patient.birth_date,
                on=timezone.localdate(),
            )
            if latest is not None and latest.pk == signed.pk
            else None,
            "may_trace": actor_of(request).has_role(*OUTCOMES_READERS),
        },
    )
