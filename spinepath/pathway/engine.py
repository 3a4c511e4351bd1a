"""The candidacy review: from a workup and the clinic's policy to an explained decision.

The decision is the first stage of PATHWAY.md section 3 that applies (``STAGES`` below):
urgent referral, surgical referral, the safety and timing facts recorded, "not now", a recent
MRI, the workup finished, a treatable generator, candidate. Every rule is always reported,
with what the clinic recommends when the answer is not yet "yes".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

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

# Row 3: the facts that decide safety and timing. Unrecorded, they are recorded first: no MRI,
# block or discography is asked for before it is known that the person needs one now.
# Earlier spine procedures are asked even when the answer is none: a surgery inside the
# recovery wait, or a fused level, changes what may be injected.
SAFETY_AND_TIMING = (
    "red_flag_screen",
    "neurological_status",
    "chronic_pain",
    "conservative_care",
    "recovery_after_surgery",
)
# Row 4: "not now" - the pain may still settle, conservative care has not run its course, or
# the spine is still healing from surgery.
NOT_NOW = ("chronic_pain", "conservative_care", "recovery_after_surgery")
# Row 6: the workup is finished before a plan (an unknown or a fail here is more workup).
WORKUP_UNKNOWNS = ("mri_reviewed", "pain_generator_confirmed")
WORKUP_FAILS = ("mri_reviewed", "disc_levels_localised", "facet_block")
# Every rule whose unknown holds the decision back ("record it first").
GATES = frozenset((*SAFETY_AND_TIMING, *WORKUP_UNKNOWNS))

StageId = Literal[
    "urgent",
    "surgical",
    "record_first",
    "not_now",
    "imaging",
    "review_first",
    "workup",
    "no_target",
    "candidate",
]


@dataclass(frozen=True, slots=True)
class Facts:
    """What the precedence looks at: each rule's outcome and the motor exam."""

    outcome: Mapping[str, str]
    motor_deficit: str | None

    def any_is(self, value: str, rule_ids: tuple[str, ...]) -> bool:
        return any(self.outcome[rule_id] == value for rule_id in rule_ids)

    @property
    def not_now(self) -> bool:
        return self.any_is("fail", NOT_NOW)


@dataclass(frozen=True, slots=True)
class Stage:
    id: StageId
    decision: DecisionKind
    applies: Callable[[Facts], bool]


# PATHWAY.md section 3, in order; the first stage that applies decides.
STAGES: tuple[Stage, ...] = (
    Stage("urgent", "refer_urgent", lambda f: f.outcome["red_flag_screen"] == "fail"),
    Stage("surgical", "refer_surgical", lambda f: f.outcome["neurological_status"] == "fail"),
    Stage("record_first", "needs_workup", lambda f: f.any_is("unknown", SAFETY_AND_TIMING)),
    # With any motor deficit the MRI comes first: it can show a herniation for a surgeon.
    Stage("not_now", "not_candidate", lambda f: f.not_now and f.motor_deficit == "none"),
    Stage("imaging", "needs_imaging", lambda f: f.outcome["mri_within_window"] == "fail"),
    # A stable deficit: once the MRI has been read here, "not now" comes before any test.
    Stage("not_now", "not_candidate", lambda f: f.not_now and f.outcome["mri_reviewed"] == "pass"),
    Stage("review_first", "needs_workup", lambda f: f.not_now),
    Stage(
        "workup",
        "needs_workup",
        lambda f: f.any_is("unknown", WORKUP_UNKNOWNS) or f.any_is("fail", WORKUP_FAILS),
    ),
    Stage("no_target", "not_candidate", lambda f: f.outcome["pain_generator_confirmed"] == "fail"),
    Stage("candidate", "candidate", lambda f: True),
)


def decide(workup: Workup, policy: Policy) -> Decision:
    reading = read_workup(workup, policy)
    generators = find_generators(reading)
    rules = (
        *(rule(reading) for rule in PLAIN_RULES),
        pain_generator_confirmed(reading, generators),
    )
    outcome = {rule.id: rule.outcome for rule in rules}
    stage = decide_stage(Facts(outcome, workup.exam.motor_deficit))
    recommendations = _recommendations(stage.id, reading, outcome, generators)
    prognosis = _prognosis(reading, generators) if stage.id == "candidate" else None
    return Decision(
        patient_id=workup.patient.id,
        assessed_on=workup.assessed_on.isoformat(),
        decision=stage.decision,
        summary=_summary(stage.id, rules, generators),
        rules=rules,
        generators=generators,
        recommendations=recommendations,
        prognosis=prognosis,
        policy_name=policy.name,
        policy_version=policy.version,
        missing=_missing(reading, stage.id) if stage.decision == "needs_workup" else (),
    )


def decide_stage(facts: Facts) -> Stage:
    """The first stage of the pathway's precedence that applies."""
    return next(stage for stage in STAGES if stage.applies(facts))


def _summary(stage: StageId, rules: tuple[RuleResult, ...], gens: tuple[Generator, ...]) -> str:
    def texts(value: str, rule_ids: tuple[str, ...]) -> list[str]:
        return [r.text for r in rules if r.outcome == value and r.id in rule_ids]

    if stage == "candidate":
        targets = join_words([describe(g) for g in gens if g.is_target])
        return f"A candidate for regenerative treatment of {targets}."
    if stage == "urgent":
        return "Warning signs of a serious spine problem: urgent medical care comes first."
    if stage == "surgical":
        return "A spine surgeon should assess the nerve problem before anything else."
    if stage == "record_first":
        return "Record these before deciding anything else: " + " ".join(
            texts("unknown", SAFETY_AND_TIMING)
        )
    if stage == "not_now":
        return "Not a candidate now: " + " ".join(texts("fail", NOT_NOW))
    if stage == "imaging":
        return "A recent MRI is needed before candidacy can be decided."
    if stage == "review_first":
        return (
            "With weakness in the leg, a clinician here reads the MRI before anything else; "
            "for now, " + " ".join(texts("fail", NOT_NOW))
        )
    if stage == "workup":
        return "More workup is needed before deciding: " + " ".join(
            texts("unknown", WORKUP_UNKNOWNS) + texts("fail", WORKUP_FAILS)
        )
    return "Not a candidate: " + " ".join(texts("fail", ("pain_generator_confirmed",)))


def _recommendations(
    stage: StageId,
    reading: Reading,
    outcome: Mapping[str, str],
    generators: tuple[Generator, ...],
) -> tuple[Recommendation, ...]:
    if stage == "urgent":
        names = join_words([RED_FLAG_NAMES[f] for f in red_flags_found(reading)])
        text = (
            f"Same-day medical assessment (emergency department or on-call spine team) for {names}."
        )
        return (Recommendation("urgent_referral", text),)
    if stage == "surgical":
        return (
            Recommendation(
                "surgical_evaluation",
                "An early appointment with a spine surgeon to assess the nerve compression and "
                "weakness; regenerative care can be reconsidered afterwards.",
            ),
        )
    if stage == "record_first":
        return ()  # the missing facts are listed; nothing is recommended before they are known
    if stage == "not_now":
        return _not_now(reading, outcome, _later(reading, outcome, generators))
    if stage == "imaging":
        latest = reading.latest_mri
        text = (
            f"A new MRI of the lumbar spine: the latest ({latest.date}) is older than "
            f"{reading.policy.mri_max_age_months} months."
            if latest is not None
            else "An MRI of the lumbar spine, reviewed here, before any treatment is planned."
        )
        return (Recommendation("mri", text),)
    if stage == "review_first":
        return _mri_review(reading, outcome)
    if stage == "workup":
        return _workup_steps(reading, outcome, generators)
    if stage == "no_target":
        return _alternatives(reading, generators)
    return _treatments(generators)


def _mri_review(reading: Reading, outcome: Mapping[str, str]) -> tuple[Recommendation, ...]:
    mri = reading.recent_mri
    if outcome["mri_reviewed"] in ("fail", "unknown") and mri is not None:
        return (
            Recommendation(
                "mri",
                f"A clinician here reviews the MRI from {mri.date} and records its findings "
                "level by level.",
            ),
        )
    return ()


def _later(reading: Reading, outcome: Mapping[str, str], generators: tuple[Generator, ...]) -> str:
    """What "not now" leaves for later, in words: the test a later review would start with.

    Said, not recommended: no MRI or diagnostic procedure is asked for while "not now" applies.
    """
    if outcome["mri_within_window"] == "fail":
        fresh = "a new" if reading.latest_mri is not None else "an"
        return f"{fresh} MRI of the lower back, reviewed here"
    if outcome["mri_reviewed"] != "pass":
        return "a review of your MRI here"
    tests = []
    if outcome["facet_block"] == "fail":
        levels = [
            g.level or "" for g in generators if g.generator == "facet" and g.status == "suspected"
        ]
        tests.append(f"a medial branch block (a numbing test) at {join_words(levels)}")
    if outcome["disc_levels_localised"] == "fail":
        tests.append("a discography to find which worn disc hurts")
    if any(g.generator == "sacroiliac" and awaiting_confirmation(g) for g in generators):
        tests.append("a sacroiliac joint block")
    return join_words(tests)


def _not_now(
    reading: Reading, outcome: Mapping[str, str], later: str
) -> tuple[Recommendation, ...]:
    policy = reading.policy
    then = f" When you come back, the first step will be {later}." if later else ""
    steps: list[Recommendation] = []
    if outcome["chronic_pain"] == "fail":
        steps.append(
            Recommendation(
                "watchful_waiting",
                f"Most back pain settles within {policy.chronic_min_months:g} months: keep "
                f"active, and come back if it lasts longer.{then}",
            )
        )
    if outcome["conservative_care"] == "fail":
        steps.append(
            Recommendation(
                "physical_therapy",
                f"At least {policy.conservative_min_pt_weeks:g} weeks of physical therapy and a "
                f"trial of anti-inflammatory medicine, until progress stops; then a new review."
                f"{then}",
            )
        )
    if outcome["recovery_after_surgery"] == "fail":
        last = max(surgery_inside_recovery(reading), key=lambda p: p.date)
        steps.append(
            Recommendation(
                "wait_recovery",
                f"Let the spine heal after the {last.kind.replace('_', ' ')}: a new review from "
                f"{recovery_ends(last, policy)}.{then}",
            )
        )
    return tuple(steps)


def _workup_steps(
    reading: Reading, outcome: Mapping[str, str], generators: tuple[Generator, ...]
) -> tuple[Recommendation, ...]:
    steps = list(_mri_review(reading, outcome))
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
    reading: Reading, generators: tuple[Generator, ...]
) -> tuple[Recommendation, ...]:
    """What the clinic recommends when no treatable pain source was confirmed."""
    alternatives: list[Recommendation] = []
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


def _missing(reading: Reading, stage: StageId) -> tuple[str, ...]:
    """What to record before the review can conclude, as workup field paths.

    While a safety or timing fact is unrecorded (row 3) only those are asked for: whether the
    MRI needs reading depends on them.
    """
    workup = reading.workup
    missing = [f"red_flags.{name}" for name in red_flags_unrecorded(workup)]
    if workup.exam.motor_deficit is None:
        missing.append("exam.motor_deficit")
    history = workup.history
    if history.pain_duration_months is None:
        missing.append("history.pain_duration_months")
    care = history.conservative_care
    for name in ("physical_therapy_weeks", "nsaid_trial", "status"):
        if care is None or getattr(care, name) is None:
            missing.append(f"history.conservative_care.{name}")
    if history.prior_procedures is None:
        missing.append("history.prior_procedures")
    if stage == "record_first":
        return tuple(missing)
    if history.pattern is None:
        missing.append("history.pattern")
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
