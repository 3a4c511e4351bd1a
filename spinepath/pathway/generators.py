"""Pain generators: the structures the workup suspects, confirms or excludes (PATHWAY.md 1, 3).

Only a *confirmed* and *eligible* generator may ever be injected. Each generator carries the
evidence it rests on, in words a patient can follow.
"""

from __future__ import annotations

from spinepath.pathway.dates import months_before
from spinepath.pathway.decision import Generator, GeneratorStatus
from spinepath.pathway.reading import (
    Reading,
    fmt_number,
    join_words,
    latest_block_at,
    read_workup,
)
from spinepath.pathway.workup import SPINE_SURGERY, LevelFinding

__all__ = ["find_generators", "read_workup"]


def find_generators(reading: Reading) -> tuple[Generator, ...]:
    found: list[Generator] = []
    found.extend(_discogenic(reading))
    found.extend(_facet(reading))
    found.extend(_sacroiliac(reading))
    found.extend(_myoligamentous(reading))
    found.extend(_radicular(reading))
    found.extend(_post_procedural(reading))
    return tuple(found)


def disc_is_severe_collapse(finding: LevelFinding, reading: Reading) -> bool:
    limit = reading.policy.disc_height_loss_max_pct
    return (
        finding.pfirrmann == 5
        or (finding.disc_height_loss_pct is not None and finding.disc_height_loss_pct >= limit)
        or finding.endplate_bone_on_bone is True
    )


def _unreviewed_cap(status: GeneratorStatus, reading: Reading) -> GeneratorStatus:
    # An MRI nobody here has read confirms nothing; it can only raise a suspicion.
    if status == "confirmed" and not reading.mri_reviewed:
        return "suspected"
    return status


def _discogenic(reading: Reading) -> list[Generator]:
    policy = reading.policy
    pattern = reading.workup.history.pattern
    degenerated = reading.degenerated_levels()
    needs_localising = len(degenerated) > policy.max_disc_levels
    low, high = policy.pfirrmann_eligible
    result = []
    for finding in reading.worn_discs():
        level = finding.level
        evidence = [f"MRI: Pfirrmann grade {finding.pfirrmann} at {level}"]
        if finding.disc_height_loss_pct is not None:
            evidence.append(f"disc height loss {fmt_number(finding.disc_height_loss_pct)}%")
        if finding.endplate_bone_on_bone:
            evidence.append("bone-on-bone end-plate change")
        status: GeneratorStatus = "confirmed"
        eligible = True

        if level in reading.disc_removed_levels:
            evidence.append("the level was fused or its disc replaced: no disc left to inject")
            result.append(Generator("discogenic", "confirmed", False, level, None, tuple(evidence)))
            continue
        if pattern == "radicular":
            evidence.append(
                "the pain is leg-dominant, so it comes from the nerve root, not the disc"
            )
            result.append(Generator("discogenic", "excluded", False, level, None, tuple(evidence)))
            continue
        if pattern is None:
            status = "suspected"
            evidence.append("the pain pattern (back or leg) is not recorded")

        discography = latest_block_at(reading.workup, "discography", level)
        if discography is not None:
            if discography.concordant:
                evidence.append(f"discography {discography.date} reproduced the usual pain here")
            else:
                evidence.append(f"discography {discography.date} did not reproduce the pain here")
                status = "excluded"
        elif needs_localising:
            status = "suspected"
            evidence.append(
                f"more than {policy.max_disc_levels} degenerated levels: "
                "discography must show which disc hurts"
            )

        if disc_is_severe_collapse(finding, reading):
            eligible = False
            evidence.append("severe collapse: too far gone for a regenerative injection")
        elif not low <= (finding.pfirrmann or 0) <= high:
            eligible = False
            evidence.append(
                f"Pfirrmann {finding.pfirrmann} is outside the clinic's range {low}-{high}"
            )
        else:
            unrecorded = []
            if finding.disc_height_loss_pct is None:
                unrecorded.append("disc height loss")
            if finding.endplate_bone_on_bone is None:
                unrecorded.append("end-plate (bone-on-bone) findings")
            if unrecorded and status == "confirmed":
                # Eligibility hinges on these: they must be read off the MRI, not assumed.
                status = "suspected"
                evidence.append(f"{join_words(unrecorded)} not recorded")
        result.append(
            Generator(
                "discogenic",
                _unreviewed_cap(status, reading),
                eligible,
                level,
                None,
                tuple(evidence),
            )
        )
    return result


def facet_suspected_levels(reading: Reading) -> list[LevelFinding]:
    """Facet pain is suspected only at levels with facet arthropathy (grade >= 1) on the MRI."""
    if reading.workup.exam.facet_pattern is not True:
        return []
    return [
        f for f in reading.findings if f.facet_arthropathy is not None and f.facet_arthropathy >= 1
    ]


def _facet(reading: Reading) -> list[Generator]:
    policy = reading.policy
    result = []
    for finding in facet_suspected_levels(reading):
        level = finding.level
        evidence = [
            "clinical facet pattern on exam",
            f"facet arthropathy grade {finding.facet_arthropathy} at {level} on MRI",
        ]
        status: GeneratorStatus
        side = None
        block = latest_block_at(reading.workup, "medial_branch", level)
        if block is not None and block.relief_pct is not None:
            side = block.side
            relief = fmt_number(block.relief_pct)
            if block.relief_pct >= policy.mbb_relief_min_pct:
                status = "confirmed"
                evidence.append(f"medial branch block {block.date}: {relief}% relief")
            else:
                status = "excluded"
                evidence.append(
                    f"medial branch block {block.date}: {relief}% relief, "
                    f"under the {fmt_number(policy.mbb_relief_min_pct)}% that confirms it"
                )
        elif policy.facet_block_required:
            status = "suspected"
            evidence.append("no medial branch block yet")
        else:
            status = "confirmed"
            evidence.append("the clinic's policy accepts facet pain without a block")
        result.append(
            Generator("facet", _unreviewed_cap(status, reading), True, level, side, tuple(evidence))
        )
    return result


def _sacroiliac(reading: Reading) -> list[Generator]:
    policy = reading.policy
    positive = reading.workup.exam.si_provocation_positive
    if positive is None or positive < 3:
        return []
    evidence = [f"{positive} positive sacroiliac provocation tests"]
    status: GeneratorStatus = "suspected"
    side = None
    block = latest_block_at(reading.workup, "sacroiliac")
    if block is not None and block.relief_pct is not None:
        side = block.side
        relief = fmt_number(block.relief_pct)
        if block.relief_pct >= policy.si_relief_min_pct:
            status = "confirmed"
            evidence.append(f"sacroiliac block {block.date}: {relief}% relief")
        else:
            status = "excluded"
            evidence.append(
                f"sacroiliac block {block.date}: {relief}% relief, "
                f"under the {fmt_number(policy.si_relief_min_pct)}% that confirms it"
            )
    else:
        evidence.append("no sacroiliac block yet")
    if not policy.sacroiliac_eligible:
        evidence.append("the clinic does not treat the sacroiliac joint regeneratively")
    return [
        Generator("sacroiliac", status, policy.sacroiliac_eligible, None, side, tuple(evidence))
    ]


def _myoligamentous(reading: Reading) -> list[Generator]:
    if reading.workup.exam.ligament_tenderness is not True:
        return []
    injured = [f.level for f in reading.findings if f.ligament_injury is True]
    if not injured:
        return []
    evidence = (
        "focal ligament tenderness on exam",
        f"ligament injury on MRI at {join_words(injured)}",
    )
    # A ligament is treated at its site under ultrasound, not at a disc level.
    status = _unreviewed_cap("confirmed", reading)
    return [Generator("myoligamentous", status, True, None, None, evidence)]


def _radicular(reading: Reading) -> list[Generator]:
    pattern = reading.workup.history.pattern
    compressed = [f.level for f in reading.findings if f.nerve_root_compression is True]
    result = []
    if pattern == "radicular":
        for level in compressed:
            evidence = ("leg-dominant pain", f"nerve root compression at {level} on MRI")
            result.append(Generator("radicular", "confirmed", False, level, None, evidence))
        if not compressed:
            evidence = ("leg-dominant pain", "no nerve root compression on the MRI")
            result.append(Generator("radicular", "suspected", False, None, None, evidence))
    elif pattern == "mixed":
        for level in compressed:
            evidence = ("back and leg pain", f"nerve root compression at {level} on MRI")
            result.append(Generator("radicular", "suspected", False, level, None, evidence))
    return result


def _post_procedural(reading: Reading) -> list[Generator]:
    policy = reading.policy
    cutoff = months_before(reading.workup.assessed_on, policy.recovery_min_months)
    result = []
    for proc in reading.workup.history.prior_procedures or ():
        if proc.improved_after is not False:
            continue
        label = proc.kind.replace("_", " ")
        evidence = [f"{label} on {proc.date}, with no improvement after it"]
        if proc.levels:
            evidence.append(f"at {join_words(list(proc.levels))}")
        waited = proc.date <= cutoff
        if not waited:
            evidence.append(f"less than {policy.recovery_min_months} months ago")
        if proc.kind in SPINE_SURGERY:
            evidence.append("spine surgery")
        level = proc.levels[0] if len(proc.levels) == 1 else None
        # Context, not a target: the pain still needs a generator of its own.
        result.append(
            Generator("post_procedural", "confirmed", waited, level, None, tuple(evidence))
        )
    return result
