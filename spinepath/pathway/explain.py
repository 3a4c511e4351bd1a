"""A decision as a readable report, for `spinepath screen --explain` and printed summaries."""

from __future__ import annotations

from spinepath.pathway.decision import Decision

_MARKS = {"pass": "pass", "fail": "FAIL", "unknown": " ?? ", "not_applicable": " -- "}


def explain(decision: Decision) -> str:
    lines = [
        f"Patient {decision.patient_id}, reviewed {decision.assessed_on}",
        f"Decision: {decision.decision} - {decision.label}",
        f"  {decision.summary}",
        "",
        "Rules checked:",
    ]
    for rule in decision.rules:
        lines.append(f"  [{_MARKS[rule.outcome]}] {rule.id}: {rule.text}")
    lines.append("")
    lines.append("Pain generators:")
    if not decision.generators:
        lines.append("  none found")
    for g in decision.generators:
        where = " ".join(part for part in (g.level, g.side) if part)
        eligible = "eligible" if g.eligible else "not eligible"
        lines.append(f"  {g.generator} {where}".rstrip() + f": {g.status}, {eligible}")
        for evidence in g.evidence:
            lines.append(f"      - {evidence}")
    lines.append("")
    lines.append("What next:" if decision.decision != "candidate" else "Recommended treatment:")
    if not decision.recommendations:
        lines.append("  record the missing facts below, then review again")
    for rec in decision.recommendations:
        lines.append(f"  * {rec.kind}: {rec.text}")
    if decision.missing:
        lines.append("")
        lines.append("Still to record: " + ", ".join(decision.missing))
    if decision.prognosis is not None:
        lines.append("")
        lines.append(
            f"Prognosis: {decision.prognosis.tier} ({'; '.join(decision.prognosis.reasons)})"
        )
    lines.append("")
    lines.append(f"Policy: {decision.policy_name} {decision.policy_version}")
    return "\n".join(lines)
