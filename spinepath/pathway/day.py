"""What a clinician's day shows beside each appointment: what the patient still needs before
the step it is booked for can be done (PATHWAY.md sections 2, 4 and 9).

The list reads the same standing and the same gates as the actions themselves, so the day
never promises what the action would refuse: an injection session shows the booking and MRI
gates on the session's day; a consultation what the last decision left open.
"""

from __future__ import annotations

from datetime import date

from spinepath.pathway import gates
from spinepath.pathway.gates import Refusal
from spinepath.pathway.policy import Policy
from spinepath.pathway.standing import Standing

# A refusal's code in the few words a calendar has room for.
_SHORT: dict[str, str] = {
    "no_mri": "no MRI on file",
    "mri_not_reviewed": "MRI not reviewed",
    "mri_too_old": "MRI too old: a new one first",
    "not_candidate": "no candidate decision in force",
    "no_accepted_plan": "plan not accepted",
    "plan_of_another_decision": "plan rests on an older decision",
    "warning_in_newer_consultation": "warning recorded: a clinician signs first",
    "newer_consultation_unreadable": "newer consultation unreadable: a clinician looks first",
}


def _short(refusal: Refusal) -> str:
    return _SHORT.get(refusal.code, refusal.sentence)


def still_missing(
    standing: Standing,
    policy: Policy,
    step: str,
    on: date,
    plan_id: int | None = None,
    visits_not_held: int = 0,
) -> tuple[str, ...]:
    """What stands between the patient and the step booked on day ``on``: ``consultation``,
    ``injection`` (a session of plan ``plan_id``, whose pre-procedure visits not yet held
    number ``visits_not_held``) or ``visit`` (its pre-procedure visit). Empty when nothing
    does."""
    missing: list[str] = []
    latest = standing.latest_consultation
    if latest is not None and latest.signature is None:
        missing.append("decision not signed")
    if step == "consultation":
        signature = gates.decision_in_force(standing).signature
        if signature is not None:
            if "diagnostic_block" in signature.advised:
                missing.append("diagnostic block advised: result to record")
            if signature.kind == "needs_imaging" or "mri" in signature.advised:
                missing.append("MRI needed")
            elif signature.kind == "needs_workup":
                missing.append("more workup needed")
        mri = gates.mri_refusal(standing, on, policy)
        if mri is not None:
            missing.append(_short(mri))
        return tuple(dict.fromkeys(missing))
    booking = gates.booking_refusal(standing, plan_id or 0, policy)
    if booking is not None:
        missing.append(_short(booking))
    if step == "injection":
        mri = gates.mri_refusal(standing, on, policy)
        if mri is not None:
            missing.append(_short(mri))
        if visits_not_held:
            missing.append("pre-procedure visit not held yet")
    return tuple(dict.fromkeys(missing))
