"""The candidacy rules of PATHWAY.md section 3, one small pure function each.

Every rule returns its outcome (``pass``, ``fail``, ``not_applicable`` or ``unknown``), one
sentence a patient can read, and the facts it used. A fact that was not recorded is
``unknown``, never a silent pass. The engine (``engine.py``) turns the outcomes into a decision.
"""

from __future__ import annotations

from collections.abc import Callable

from spinepath.pathway.decision import Generator, RuleResult
from spinepath.pathway.generators import facet_suspected_levels
from spinepath.pathway.reading import (
    RED_FLAG_NAMES,
    Reading,
    fmt_number,
    join_words,
    latest_block_at,
    plural,
    recovery_ends,
    red_flags,
    red_flags_found,
    red_flags_unrecorded,
    severe_herniations,
    surgery_inside_recovery,
)
from spinepath.pathway.workup import SPINE_SURGERY


def red_flag_screen(r: Reading) -> RuleResult:
    flags = red_flags(r)
    if flags:
        found = [
            f"{RED_FLAG_NAMES[name]} ({join_words([f.source for f in flags if f.name == name])})"
            for name in red_flags_found(r, flags)
        ]
        return RuleResult(
            "red_flag_screen",
            "fail",
            f"There are warning signs of a serious spine problem: {join_words(found)}. "
            "They need urgent care.",
            tuple(f"red flag: {f.name} ({f.source})" for f in flags),
        )
    unrecorded = red_flags_unrecorded(r.workup)
    if unrecorded:
        return RuleResult(
            "red_flag_screen",
            "unknown",
            "The screen for serious warning signs is not complete "
            f"({join_words([RED_FLAG_NAMES[f] for f in unrecorded])} not asked about yet).",
            tuple(f"red_flags.{f}: not recorded" for f in unrecorded),
        )
    return RuleResult(
        "red_flag_screen",
        "pass",
        "No warning signs of a serious spine problem (cauda equina, infection, cancer or "
        "fracture) were found.",
        tuple(f"red_flags.{f}: false" for f in RED_FLAG_NAMES),
    )


def neurological_status(r: Reading) -> RuleResult:
    motor = r.workup.exam.motor_deficit
    herniated = severe_herniations(r)
    facts = [f"exam.motor_deficit: {motor or 'not recorded'}"]
    facts += [f"{f.level}: {f.herniation}" for f in herniated]
    if motor == "progressive":
        return RuleResult(
            "neurological_status",
            "fail",
            "Weakness in the leg or foot is getting worse, so a spine surgeon should see you "
            "first.",
            tuple(facts),
        )
    if motor == "stable" and herniated:
        where = join_words([f"{f.herniation} at {f.level}" for f in herniated])
        return RuleResult(
            "neurological_status",
            "fail",
            f"A large disc herniation ({where}) with leg weakness needs a spine surgeon's opinion "
            "first.",
            tuple(facts),
        )
    if motor is None:
        return RuleResult(
            "neurological_status",
            "unknown",
            "Muscle strength and nerve function have not been examined yet.",
            tuple(facts),
        )
    text = (
        "There is no weakness from a pinched nerve."
        if motor == "none"
        else "There is some weakness, but it is stable and not getting worse."
    )
    return RuleResult("neurological_status", "pass", text, tuple(facts))


def mri_within_window(r: Reading) -> RuleResult:
    months = r.policy.mri_max_age_months
    latest = r.latest_mri
    if latest is None:
        return RuleResult(
            "mri_within_window",
            "fail",
            "There is no MRI of the lower back on file, and no injection is planned without one.",
            ("imaging: no MRI",),
        )
    facts = (f"latest MRI: {latest.date}", f"must be on or after {r.mri_cutoff}")
    if r.recent_mri is None:
        return RuleResult(
            "mri_within_window",
            "fail",
            f"The latest MRI ({latest.date}) is older than {months} months, so a new one is "
            "needed.",
            facts,
        )
    return RuleResult(
        "mri_within_window",
        "pass",
        f"The MRI from {latest.date} is recent enough (within {months} months).",
        facts,
    )


def mri_reviewed(r: Reading) -> RuleResult:
    mri = r.recent_mri
    if mri is None:
        return RuleResult(
            "mri_reviewed", "not_applicable", "There is no recent MRI to review yet.", ()
        )
    facts = (f"MRI {mri.date}: reviewed {_yes_no(mri.reviewed)}",)
    if mri.reviewed is True:
        return RuleResult(
            "mri_reviewed", "pass", f"A clinician here has reviewed the MRI from {mri.date}.", facts
        )
    if mri.reviewed is False:
        return RuleResult(
            "mri_reviewed",
            "fail",
            f"The MRI from {mri.date} has not yet been reviewed by a clinician here.",
            facts,
        )
    return RuleResult(
        "mri_reviewed",
        "unknown",
        f"It is not recorded whether a clinician here has reviewed the MRI from {mri.date}.",
        facts,
    )


def chronic_pain(r: Reading) -> RuleResult:
    months = r.workup.history.pain_duration_months
    minimum = r.policy.chronic_min_months
    if months is None:
        return RuleResult(
            "chronic_pain",
            "unknown",
            "How long the pain has lasted is not recorded yet.",
            ("history.pain_duration_months: not recorded",),
        )
    facts = (f"pain for {fmt_number(months)} months", f"chronic from {fmt_number(minimum)} months")
    if months < minimum:
        return RuleResult(
            "chronic_pain",
            "fail",
            f"The pain has lasted {_months(months)}, less than the "
            f"{fmt_number(minimum)} months that make it chronic, and may still settle by itself.",
            facts,
        )
    return RuleResult(
        "chronic_pain",
        "pass",
        f"The pain has lasted {_months(months)}, so it is chronic.",
        facts,
    )


def conservative_care(r: Reading) -> RuleResult:
    care = r.workup.history.conservative_care
    minimum = r.policy.conservative_min_pt_weeks
    if care is None:
        return RuleResult(
            "conservative_care",
            "unknown",
            "Physical therapy and medicines tried so far are not recorded yet.",
            ("history.conservative_care: not recorded",),
        )
    weeks, nsaid, status = care.physical_therapy_weeks, care.nsaid_trial, care.status
    facts = (
        f"physical therapy: {'not recorded' if weeks is None else fmt_number(weeks) + ' weeks'}",
        f"anti-inflammatory trial: {_yes_no(nsaid)}",
        f"status: {status or 'not recorded'}",
    )
    problems = []
    if status == "not_tried":
        problems.append("conservative care has not been tried yet")
    elif status == "improving":
        problems.append("it is still helping")
    if weeks is not None and weeks < minimum and status != "not_tried":
        problems.append(
            f"{fmt_number(weeks)} weeks of physical therapy is under {fmt_number(minimum)}"
        )
    if nsaid is False:
        problems.append("no trial of anti-inflammatory medicine is recorded")
    if problems:
        return RuleResult(
            "conservative_care",
            "fail",
            f"Regenerative care comes after conservative care has run its course, but "
            f"{join_words(problems)}.",
            facts,
        )
    if weeks is None or nsaid is None or status is None:
        return RuleResult(
            "conservative_care",
            "unknown",
            "Conservative care is only partly recorded (physical therapy weeks, anti-inflammatory "
            "trial and whether progress has stopped are all needed).",
            facts,
        )
    return RuleResult(
        "conservative_care",
        "pass",
        f"{fmt_number(weeks)} weeks of physical therapy and anti-inflammatory medicine have "
        "helped as much as they will.",
        facts,
    )


def recovery_after_surgery(r: Reading) -> RuleResult:
    procedures = r.workup.history.prior_procedures
    months = r.policy.recovery_min_months
    if procedures is None:
        return RuleResult(
            "recovery_after_surgery",
            "unknown",
            "Earlier spine procedures have not been asked about yet.",
            ("history.prior_procedures: not recorded",),
        )
    recent = surgery_inside_recovery(r)
    if recent:
        last = max(recent, key=lambda p: p.date)
        until = recovery_ends(last, r.policy)
        return RuleResult(
            "recovery_after_surgery",
            "fail",
            f"Spine surgery ({last.kind.replace('_', ' ')} on {last.date}) was less than {months} "
            f"months ago; the spine needs until {until} to heal before regenerative care.",
            tuple(f"{p.kind} {p.date}" for p in recent),
        )
    surgeries = [p for p in procedures if p.kind in SPINE_SURGERY]
    if surgeries:
        last = max(surgeries, key=lambda p: p.date)
        return RuleResult(
            "recovery_after_surgery",
            "pass",
            f"The last spine surgery ({last.date}) was more than {months} months ago.",
            (f"{last.kind} {last.date}",),
        )
    return RuleResult(
        "recovery_after_surgery",
        "not_applicable",
        "There has been no spine surgery, so no recovery wait applies.",
        tuple(f"{p.kind} {p.date}" for p in procedures),
    )


def disc_levels_localised(r: Reading) -> RuleResult:
    maximum = r.policy.max_disc_levels
    if r.recent_mri is None:
        return RuleResult(
            "disc_levels_localised", "not_applicable", "There is no recent MRI to read yet.", ()
        )
    if r.workup.history.pattern == "radicular":
        return RuleResult(
            "disc_levels_localised",
            "not_applicable",
            "With leg-dominant pain the discs are not treated as the source of the pain.",
            ("history.pattern: radicular",),
        )
    degenerated = [f.level for f in r.degenerated_levels()]
    facts = tuple(f"degenerated: {level}" for level in degenerated)
    if not degenerated:
        return RuleResult(
            "disc_levels_localised",
            "not_applicable",
            "The MRI shows no worn (degenerated) disc.",
            facts,
        )
    if len(degenerated) <= maximum:
        return RuleResult(
            "disc_levels_localised",
            "pass",
            f"The MRI shows {plural(len(degenerated), 'worn disc')} ({join_words(degenerated)}), "
            f"few enough to treat without further tests.",
            facts,
        )
    tested = [lv for lv in degenerated if latest_block_at(r.workup, "discography", lv)]
    if tested:
        return RuleResult(
            "disc_levels_localised",
            "pass",
            f"The MRI shows {len(degenerated)} worn discs, and discography tested "
            f"{join_words(tested)} to find the painful one.",
            (*facts, *(f"discography: {lv}" for lv in tested)),
        )
    return RuleResult(
        "disc_levels_localised",
        "fail",
        f"The MRI shows {len(degenerated)} worn discs ({join_words(degenerated)}), more than "
        f"{maximum}; a discography is needed to find which one hurts.",
        facts,
    )


def facet_blocks(r: Reading) -> RuleResult:
    pattern = r.workup.exam.facet_pattern
    if pattern is None:
        return RuleResult(
            "facet_block",
            "unknown",
            "The exam for a facet-joint pain pattern is not recorded.",
            ("exam.facet_pattern: not recorded",),
        )
    if not pattern:
        return RuleResult(
            "facet_block",
            "not_applicable",
            "The exam does not show a facet-joint pain pattern.",
            ("exam.facet_pattern: false",),
        )
    levels = [f.level for f in facet_suspected_levels(r)]
    if not levels:
        return RuleResult(
            "facet_block",
            "not_applicable",
            "The exam suggests facet-joint pain, but the MRI shows no facet arthritis to match.",
            ("exam.facet_pattern: true", "no facet arthropathy on the MRI"),
        )
    untested = [lv for lv in levels if latest_block_at(r.workup, "medial_branch", lv) is None]
    facts = tuple(f"facet arthropathy: {lv}" for lv in levels)
    if untested and r.policy.facet_block_required:
        return RuleResult(
            "facet_block",
            "fail",
            f"Facet-joint pain at {join_words(untested)} must be confirmed with a medial branch "
            "block (a numbing test) before it is treated.",
            facts,
        )
    if untested:
        return RuleResult(
            "facet_block",
            "pass",
            "This clinic accepts facet-joint pain from the exam and MRI without a numbing test.",
            facts,
        )
    return RuleResult(
        "facet_block",
        "pass",
        f"Facet joints at {join_words(levels)} were tested with a medial branch block.",
        facts,
    )


def pain_generator_confirmed(r: Reading, generators: tuple[Generator, ...]) -> RuleResult:
    targets = [g for g in generators if g.is_target]
    facts = tuple(
        f"{describe(g)}: {g.status}{'' if g.eligible else ', not eligible'}" for g in generators
    )
    if targets:
        return RuleResult(
            "pain_generator_confirmed",
            "pass",
            f"A pain source that regenerative injections can treat was confirmed: "
            f"{join_words([describe(g) for g in targets])}.",
            facts,
        )
    if r.recent_mri is None:
        return RuleResult(
            "pain_generator_confirmed",
            "unknown",
            "No pain source can be confirmed without a recent MRI.",
            facts,
        )
    awaiting = [g for g in generators if awaiting_confirmation(g)]
    if awaiting:
        return RuleResult(
            "pain_generator_confirmed",
            "unknown",
            f"A possible treatable pain source ({join_words([describe(g) for g in awaiting])}) "
            "still needs to be confirmed.",
            facts,
        )
    return RuleResult(
        "pain_generator_confirmed",
        "fail",
        "No pain source that regenerative injections can treat was confirmed.",
        facts,
    )


def _months(months: float) -> str:
    return f"{fmt_number(months)} month{'' if months == 1 else 's'}"


def _yes_no(value: bool | None) -> str:
    return "not recorded" if value is None else str(value).lower()


def awaiting_confirmation(g: Generator) -> bool:
    return g.status == "suspected" and g.eligible and g.generator != "post_procedural"


GENERATOR_NAMES = {
    "discogenic": "disc",
    "facet": "facet joint",
    "sacroiliac": "sacroiliac joint",
    "myoligamentous": "ligament / muscle attachment",
    "radicular": "nerve root",
    "post_procedural": "pain after an earlier procedure",
}


def describe(g: Generator) -> str:
    name = GENERATOR_NAMES[g.generator]
    where = " ".join(part for part in (g.side, g.level) if part)
    return f"the {where} {name}" if where else f"the {name}"


PLAIN_RULES: tuple[Callable[[Reading], RuleResult], ...] = (
    red_flag_screen,
    neurological_status,
    mri_within_window,
    mri_reviewed,
    chronic_pain,
    conservative_care,
    recovery_after_surgery,
    disc_levels_localised,
    facet_blocks,
)
