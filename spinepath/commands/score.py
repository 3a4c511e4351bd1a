"""spinepath score: the ODI and pain scores the clinic uses, and response between two visits."""

from __future__ import annotations

import argparse
import json
from typing import Any

from spinepath.commands._common import add_policy_option, fail, policy_or_none
from spinepath.pathway.instruments import (
    OdiScore,
    classify_response,
    odi_score,
    pain_from_nrs,
    pain_from_vas,
)
from spinepath.pathway.policy import Policy


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "score",
        help="score the ODI, or pain change between baseline and follow-up",
        description="Score patient-reported outcomes as the clinic does (PATHWAY.md section 5).",
    )
    kinds = parser.add_subparsers(dest="instrument", metavar="INSTRUMENT", required=True)

    odi = kinds.add_parser(
        "odi",
        help="Oswestry Disability Index v2.1a from ten section scores",
        description="Score the ODI from its ten sections (0-5 each). Write - for a section "
        "left unanswered; the policy decides how many may be blank.",
    )
    odi.add_argument("sections", nargs="*", metavar="S", help="ten section scores, 0-5 or -")
    add_policy_option(odi)
    odi.add_argument("--json", action="store_true", help="print JSON")
    odi.set_defaults(handler=run_odi)

    pain = kinds.add_parser(
        "pain",
        help="pain change and responder status between baseline and follow-up",
        description="Compare pain (VAS 0-100 mm, or NRS 0-10 with --scale nrs) at follow-up "
        "with baseline; optionally the ODI too. Before the visit at which non-response is "
        "judged (--visit, default policy 6m) a non-response is 'too early to judge'.",
    )
    pain.add_argument("--baseline", type=float, required=True, help="baseline pain")
    pain.add_argument("--follow-up", type=float, required=True, help="follow-up pain")
    pain.add_argument("--scale", choices=("vas", "nrs"), default="vas", help="default: vas")
    pain.add_argument("--baseline-odi", metavar="S,S,...", help="ten ODI sections, - for blank")
    pain.add_argument("--follow-up-odi", metavar="S,S,...", help="ten ODI sections, - for blank")
    pain.add_argument("--visit", metavar="KEY", help="the follow-up visit (6w, 3m, 6m, 12m, 24m)")
    add_policy_option(pain)
    pain.add_argument("--json", action="store_true", help="print JSON")
    pain.set_defaults(handler=run_pain)


def parse_sections(values: list[str], label: str) -> list[int | None]:
    if len(values) != 10:
        raise ValueError(f"{label}: the ODI has 10 sections (got {len(values)})")
    sections: list[int | None] = []
    for number, value in enumerate(values, start=1):
        text = value.strip()
        if text == "-":
            sections.append(None)
        elif text.isdigit() and 0 <= int(text) <= 5:
            sections.append(int(text))
        else:
            raise ValueError(f"{label} section {number}: must be 0-5 or - (got {text!r})")
    return sections


def _odi_text(score: OdiScore) -> str:
    if score.score is None:
        return f"no score ({score.reason})"
    return f"{score.score:.1f} ({score.band}), {score.answered} of 10 sections answered"


def run_odi(args: argparse.Namespace) -> int:
    policy = policy_or_none(args)
    if policy is None:
        return 2
    try:
        score = odi_score(parse_sections(args.sections, "sections"), policy)
    except ValueError as exc:
        return fail(str(exc))
    if args.json:
        print(
            json.dumps(
                {
                    "score": score.score,
                    "band": score.band,
                    "answered": score.answered,
                    "missing": score.missing,
                    "reason": score.reason,
                }
            )
        )
    else:
        print(f"ODI {_odi_text(score)}")
    return 0


def _odi_option(text: str | None, label: str, policy: Policy) -> OdiScore | None:
    if text is None:
        return None
    return odi_score(parse_sections(text.split(","), label), policy)


def run_pain(args: argparse.Namespace) -> int:
    policy = policy_or_none(args)
    if policy is None:
        return 2
    convert = pain_from_nrs if args.scale == "nrs" else pain_from_vas
    try:
        baseline = convert(args.baseline)
    except ValueError as exc:
        return fail(f"--baseline: {exc}")
    try:
        follow_up = convert(args.follow_up)
    except ValueError as exc:
        return fail(f"--follow-up: {exc}")
    if args.visit is not None and args.visit not in policy.visit_keys():
        return fail(f"--visit: must be one of {', '.join(policy.visit_keys())}")
    try:
        odi_before = _odi_option(args.baseline_odi, "--baseline-odi", policy)
        odi_after = _odi_option(args.follow_up_odi, "--follow-up-odi", policy)
    except ValueError as exc:
        return fail(str(exc))
    response = classify_response(baseline, follow_up, odi_before, odi_after, policy, args.visit)
    if args.json:
        print(
            json.dumps(
                {
                    "pain_change_mm": response.pain_change_mm,
                    "pain_change_pct": response.pain_change_pct,
                    "pain_responder": response.pain_responder,
                    "any_pain_reduction": response.any_pain_reduction,
                    "odi_change_points": response.odi_change_points,
                    "odi_change_pct": response.odi_change_pct,
                    "odi_responder": response.odi_responder,
                    "status": response.status,
                }
            )
        )
        return 0
    print(f"Pain {baseline.value_mm:g} -> {follow_up.value_mm:g} mm (VAS)")
    if response.pain_change_pct is not None:
        print(f"  change {response.pain_change_mm:+g} mm ({response.pain_change_pct:+.1f}%)")
    threshold = policy.pain_responder_min_pct
    print(
        f"  pain responder (>= {threshold:g}% less): {'yes' if response.pain_responder else 'no'}"
    )
    if odi_before is not None and odi_after is not None:
        print(f"ODI {_odi_text(odi_before)} -> {_odi_text(odi_after)}")
        if response.odi_responder is not None:
            print(f"  ODI responder: {'yes' if response.odi_responder else 'no'}")
    print(f"Status: {response.label}")
    return 0
