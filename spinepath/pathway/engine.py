"""The candidacy review: from a workup and the clinic's policy to an explained decision.

The decision is the first of these that applies (PATHWAY.md section 3): refer_urgent,
refer_surgical, needs_imaging, needs_workup, not_candidate, candidate. Every rule is always
reported, with the alternatives the clinic recommends when the answer is not yet "yes".
"""

from __future__ import annotations

from collections.abc import Mapping

from spinepath.pathway.decision import (
    Decision,
    DecisionKind,
    Generator,
    Prognosis,
    Recommendation,
    RuleResult,
)
from spinepath.pathway.generators import find_generators
from spinepath.pathway.policy import Policy
from spinepath.pathway.reading import (
    RED_FLAG_NAMES,
    Reading,
    join_words,
    read_workup,
    recovery_ends,
    red_flags_found,
    red_flags_unrecorded,
    severe_herniations,
    surgery_inside_recovery,
)
from spinepath.pathway.rules import (
    PLAIN_RULES,
    awaiting_confirmation,
    describe,
    pain_generator_confirmed,
)
from spinepath.pathway.workup import Workup

# An unknown on any of these means "record it first" (needs_workup).
GATES = frozenset(
    {
        "red_flag_screen",
        "neurological_status",
        "mri_reviewed",
        "chronic_pain",
        "conservative_care",
        "pain_generator_confirmed",
    }
)
# A fail on these is missing workup rather than a "no".
WORKUP_FAILS = frozenset({"mri_reviewed", "disc_levels_localised", "facet_block"})
# A fail on these is a "not now" or "not this treatment".
NOT_CANDIDATE_FAILS = frozenset(
    {"chronic_pain", "conservative_care", "recovery_after_surgery", "pain_generator_confirmed"}
)


def decide(workup: Workup, policy: Policy) -> Decision:
    reading = read_workup(workup, policy)
    generators = find_generators(reading)
    rules = (
        *(rule(reading) for rule in PLAIN_RULES),
        pain_generator_confirmed(reading, generators),
    )
    outcome = {rule.id: rule.outcome for rule in rules}
    kind = _decision(outcome)
    recommendations = _recommendations(kind, reading, outcome, generators)
    prognosis = _prognosis(reading, generators) if kind == "candidate" else None
    return Decision(
        patient_id=workup.patient.id,
        assessed_on=workup.assessed_on.isoformat(),
        decision=kind,
        summary=_summary(kind, rules, generators),
        rules=rules,
        generators=generators,
        recommendations=recommendations,
        prognosis=prognosis,
        policy_name=policy.name,
        policy_version=policy.version,
        missing=_missing(reading) if kind == "needs_workup" else (),
    )


def _decision(outcome: Mapping[str, str]) -> DecisionKind:
    if outcome["red_flag_screen"] == "fail":
        return "refer_urgent"
    if outcome["neurological_status"] == "fail":
        return "refer_surgical"
    if outcome["mri_within_window"] == "fail":
        return "needs_imaging"
    if any(outcome[g] == "unknown" for g in GATES) or any(
        outcome[r] == "fail" for r in WORKUP_FAILS
    ):
        return "needs_workup"
    if any(outcome[r] == "fail" for r in NOT_CANDIDATE_FAILS):
        return "not_candidate"
    return "candidate"


def _summary(kind: DecisionKind, rules: tuple[RuleResult, ...], gens: tuple[Generator, ...]) -> str:
    if kind == "candidate":
        targets = join_words([describe(g) for g in gens if g.is_target])
        return f"A candidate for regenerative treatment of {targets}."
    if kind == "refer_urgent":
        return "Warning signs of a serious spine problem: urgent medical care comes first."
    if kind == "refer_surgical":
        return "A spine surgeon should assess the nerve problem before anything else."
    if kind == "needs_imaging":
        return "A recent MRI is needed before candidacy can be decided."
    if kind == "needs_workup":
        open_rules = [r for r in rules if r.outcome == "unknown" and r.id in GATES] + [
            r for r in rules if r.outcome == "fail" and r.id in WORKUP_FAILS
        ]
        return "More workup is needed before deciding: " + " ".join(r.text for r in open_rules)
    failed = [r.text for r in rules if r.outcome == "fail" and r.id in NOT_CANDIDATE_FAILS]
    return "Not a candidate now: " + " ".join(failed)


def _recommendations(
    kind: DecisionKind,
    reading: Reading,
    outcome: Mapping[str, str],
    generators: tuple[Generator, ...],
) -> tuple[Recommendation, ...]:
    if kind == "refer_urgent":
        names = join_words([RED_FLAG_NAMES[f] for f in red_flags_found(reading)])
        text = (
            f"Same-day medical assessment (emergency department or on-call spine team) for {names}."
        )
        return (Recommendation("urgent_referral", text),)
    if kind == "refer_surgical":
        return (
            Recommendation(
                "surgical_evaluation",
                "An early appointment with a spine surgeon to assess the nerve compression and "
                "weakness; regenerative care can be reconsidered afterwards.",
            ),
        )
    if kind == "needs_imaging":
        latest = reading.latest_mri
        text = (
            f"A new MRI of the lumbar spine: the latest ({latest.date}) is older than "
            f"{reading.policy.mri_max_age_months} months."
            if latest is not None
            else "An MRI of the lumbar spine, reviewed here, before any treatment is planned."
        )
        return (Recommendation("mri", text),)
    if kind == "needs_workup":
        return _workup_steps(reading, outcome, generators)
    if kind == "not_candidate":
        return _alternatives(reading, outcome, generators)
    return _treatments(generators)


def _workup_steps(
    reading: Reading, outcome: Mapping[str, str], generators: tuple[Generator, ...]
) -> tuple[Recommendation, ...]:
    steps: list[Recommendation] = []
    mri = reading.recent_mri
    if outcome["mri_reviewed"] in ("fail", "unknown") and mri is not None:
        steps.append(
            Recommendation(
                "mri",
                f"A clinician here reviews the MRI from {mri.date} and records its findings "
                "level by level.",
            )
        )
    for g in generators:
        unrecorded = any("not recorded" in e for e in g.evidence)
        suspected_disc = g.generator == "discogenic" and g.status == "suspected" and g.eligible
        if suspected_disc and unrecorded and reading.mri_reviewed:
            steps.append(
                Recommendation(
                    "mri",
                    f"Record the disc height loss and end-plate findings at {g.level} from "
                    "the MRI.",
                    level=g.level,
                )
            )
    if outcome["disc_levels_localised"] == "fail":
        for finding in reading.degenerated_levels():
            steps.append(
                Recommendation(
                    "diagnostic_block",
                    f"Provocative discography including {finding.level}, to find which worn "
                    "disc causes the pain.",
                    level=finding.level,
                )
            )
    if outcome["facet_block"] == "fail":
        for g in generators:
            if g.generator == "facet" and g.status == "suspected":
                steps.append(
                    Recommendation(
                        "diagnostic_block",
                        f"A medial branch block at {g.level}, to test whether that facet joint "
                        "causes the pain.",
                        level=g.level,
                    )
                )
    for g in generators:
        if g.generator == "sacroiliac" and awaiting_confirmation(g):
            steps.append(
                Recommendation(
                    "diagnostic_block",
                    "A sacroiliac joint block, to test whether that joint causes the pain.",
                    side=g.side,
                )
            )
    return tuple(_unique(steps))


def _alternatives(
    reading: Reading, outcome: Mapping[str, str], generators: tuple[Generator, ...]
) -> tuple[Recommendation, ...]:
    policy = reading.policy
    alternatives: list[Recommendation] = []
    if outcome["pain_generator_confirmed"] == "fail":
        confirmed = [g for g in generators if g.status == "confirmed"]
        collapsed = [g for g in confirmed if g.generator == "discogenic" and not g.eligible]
        if collapsed:
            levels = join_words([g.level or "" for g in collapsed])
            alternatives.append(
                Recommendation(
                    "surgical_evaluation",
                    f"A spine surgeon's opinion on the {levels} disc, which is too collapsed or "
                    "already operated on for a regenerative injection.",
                )
            )
        others = [g for g in confirmed if g.generator not in ("discogenic", "post_procedural")]
        if others or not collapsed:
            alternatives.append(
                Recommendation(
                    "conventional_care",
                    "Conventional care for this kind of pain: physical therapy, medicines, and "
                    "image-guided steroid injections or nerve ablation where they fit.",
                )
            )
        herniated = severe_herniations(reading)
        if herniated:
            where = join_words([f"{f.herniation} at {f.level}" for f in herniated])
            alternatives.append(
                Recommendation(
                    "surgical_evaluation",
                    f"A spine surgeon's opinion on the disc herniation ({where}).",
                )
            )
    if outcome["chronic_pain"] == "fail":
        alternatives.append(
            Recommendation(
                "watchful_waiting",
                f"Most back pain settles within {policy.chronic_min_months:g} months: keep active, "
                "and come back if it has not.",
            )
        )
    if outcome["conservative_care"] == "fail":
        alternatives.append(
            Recommendation(
                "physical_therapy",
                f"At least {policy.conservative_min_pt_weeks:g} weeks of physical therapy and a "
                "trial of anti-inflammatory medicine, until progress stops; then a new review.",
            )
        )
    if outcome["recovery_after_surgery"] == "fail":
        last = max(surgery_inside_recovery(reading), key=lambda p: p.date)
        alternatives.append(
            Recommendation(
                "wait_recovery",
                f"Let the spine heal after the {last.kind.replace('_', ' ')}: a new review from "
                f"{recovery_ends(last, policy)}.",
            )
        )
    return tuple(_unique(alternatives))


_TREATMENTS = {
    "discogenic": (
        "intradiscal_msc",
        "Intradiscal injection of mesenchymal stem cells (MSC) into {the}disc, guided by "
        "fluoroscopy or CT.",
    ),
    "facet": (
        "facet_injection",
        "Injection of a biologic (MSC, exosome or PRP) into {the}facet joint, guided by "
        "fluoroscopy.",
    ),
    "myoligamentous": (
        "ligament_injection",
        "PRP or exosome injection into the injured ligament / muscle attachment, guided by "
        "ultrasound.",
    ),
    # Only when a clinic's policy makes the SI joint eligible (off by default).
    "sacroiliac": (
        "ligament_injection",
        "PRP or exosome injection into {the}sacroiliac joint and its ligaments, guided by "
        "fluoroscopy or ultrasound.",
    ),
}


def _treatments(generators: tuple[Generator, ...]) -> tuple[Recommendation, ...]:
    treatments = []
    for g in generators:
        if not g.is_target:
            continue
        kind, text = _TREATMENTS[g.generator]
        where = " ".join(part for part in (g.side, g.level) if part)
        treatments.append(
            Recommendation(
                kind,  # type: ignore[arg-type]
                text.format(the=f"the {where} " if where else "the "),
                level=g.level,
                side=g.side,
                generator=g.generator,
            )
        )
    return tuple(treatments)


def _prognosis(reading: Reading, generators: tuple[Generator, ...]) -> Prognosis:
    """How closely the case matches the published profile with the strongest outcomes:
    imaging-led, single-level, moderate degeneration, axial pain."""
    targets = [g for g in generators if g.is_target]
    pattern = reading.workup.history.pattern
    if len(targets) > 2 or pattern == "mixed":
        reasons = []
        if len(targets) > 2:
            reasons.append(f"{len(targets)} areas to treat (outcomes are weaker above two)")
        if pattern == "mixed":
            reasons.append("back and leg pain together (mixed pattern)")
        return Prognosis("weaker", tuple(reasons))
    if len(targets) == 1 and targets[0].generator == "discogenic" and pattern == "axial":
        finding = next(f for f in reading.findings if f.level == targets[0].level)
        if finding.pfirrmann in (3, 4):
            return Prognosis(
                "strongest",
                (
                    f"one disc level to treat ({targets[0].level})",
                    f"moderate degeneration (Pfirrmann {finding.pfirrmann})",
                    "back-dominant (axial) pain",
                ),
            )
    reasons = [f"{len(targets)} area{'s' if len(targets) > 1 else ''} to treat"]
    if not (len(targets) == 1 and targets[0].generator == "discogenic"):
        reasons.append("the strongest published results are for a single disc level")
    else:
        reasons.append("the strongest published results are for moderate (Pfirrmann 3-4) discs")
    return Prognosis("typical", tuple(reasons))


def _missing(reading: Reading) -> tuple[str, ...]:
    """What to record before the review can conclude, as workup field paths."""
    workup = reading.workup
    missing = [f"red_flags.{name}" for name in red_flags_unrecorded(workup)]
    if workup.exam.motor_deficit is None:
        missing.append("exam.motor_deficit")
    history = workup.history
    if history.pain_duration_months is None:
        missing.append("history.pain_duration_months")
    if history.pattern is None:
        missing.append("history.pattern")
    care = history.conservative_care
    for name in ("physical_therapy_weeks", "nsaid_trial", "status"):
        if care is None or getattr(care, name) is None:
            missing.append(f"history.conservative_care.{name}")
    mri = reading.recent_mri
    if mri is not None and mri.reviewed is not True:
        index = workup.imaging.index(mri)
        missing.append(f"imaging[{index}].reviewed")
    return tuple(missing)


def _unique(items: list[Recommendation]) -> list[Recommendation]:
    seen: set[tuple[str, str | None, str | None, str]] = set()
    result = []
    for item in items:
        key = (item.kind, item.level, item.side, item.text)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result
