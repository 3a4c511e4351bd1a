"""What a candidacy review returns: the decision, every rule, the generators, the alternatives.

Serialised by :meth:`Decision.to_dict` in the interchange format ``spinepath.decision/1``
(spinepath/contracts/decision.schema.json), with a few added fields (``assessed_on``, ``summary``,
``missing``, a recommendation's ``generator``) that the format allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DECISION_SCHEMA = "spinepath.decision/1"

DecisionKind = Literal[
    "candidate", "not_candidate", "needs_workup", "needs_imaging", "refer_surgical", "refer_urgent"
]
Outcome = Literal["pass", "fail", "not_applicable", "unknown"]
GeneratorKind = Literal[
    "discogenic", "facet", "sacroiliac", "myoligamentous", "radicular", "post_procedural"
]
GeneratorStatus = Literal["confirmed", "suspected", "excluded"]
RecommendationKind = Literal[
    "intradiscal_msc",
    "facet_injection",
    "ligament_injection",
    "shockwave",
    "urgent_referral",
    "surgical_evaluation",
    "mri",
    "diagnostic_block",
    "physical_therapy",
    "conventional_care",
    "watchful_waiting",
    "wait_recovery",
]
INJECTION_KINDS: frozenset[str] = frozenset(
    {"intradiscal_msc", "facet_injection", "ligament_injection"}
)

RECOMMENDATION_LABELS: dict[str, str] = {
    "intradiscal_msc": "Intradiscal MSC injection",
    "facet_injection": "Facet joint injection",
    "ligament_injection": "Ligament injection",
    "shockwave": "Shockwave therapy",
    "urgent_referral": "Urgent referral",
    "surgical_evaluation": "Surgical evaluation",
    "mri": "MRI",
    "diagnostic_block": "Diagnostic block",
    "physical_therapy": "Physical therapy",
    "conventional_care": "Conventional care",
    "watchful_waiting": "Watchful waiting",
    "wait_recovery": "Wait for recovery",
}

DECISION_LABELS: dict[str, str] = {
    "candidate": "Candidate for regenerative treatment",
    "not_candidate": "Not a candidate",
    "needs_workup": "More workup needed",
    "needs_imaging": "MRI needed",
    "refer_surgical": "Refer for surgical evaluation",
    "refer_urgent": "Urgent referral",
}


@dataclass(frozen=True, slots=True)
class RuleResult:
    id: str
    outcome: Outcome
    text: str
    facts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "outcome": self.outcome,
            "text": self.text,
            "facts": list(self.facts),
        }


@dataclass(frozen=True, slots=True)
class Generator:
    generator: GeneratorKind
    status: GeneratorStatus
    eligible: bool
    level: str | None = None
    side: str | None = None
    evidence: tuple[str, ...] = ()

    @property
    def is_target(self) -> bool:
        """A confirmed, eligible generator: the only thing the clinic may inject."""
        return self.status == "confirmed" and self.eligible and self.generator != "post_procedural"

    def to_dict(self) -> dict[str, object]:
        return {
            "generator": self.generator,
            "level": self.level,
            "side": self.side,
            "status": self.status,
            "eligible": self.eligible,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class Recommendation:
    kind: RecommendationKind
    text: str
    level: str | None = None
    side: str | None = None
    # For an injection: the generator it treats (the plan builder checks it against the decision).
    generator: GeneratorKind | None = None

    @property
    def is_injection(self) -> bool:
        return self.kind in INJECTION_KINDS

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "kind": self.kind,
            "level": self.level,
            "side": self.side,
            "text": self.text,
        }
        if self.generator is not None:
            data["generator"] = self.generator
        return data


@dataclass(frozen=True, slots=True)
class Prognosis:
    tier: Literal["strongest", "typical", "weaker"]
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"tier": self.tier, "reasons": list(self.reasons)}


@dataclass(frozen=True, slots=True)
class Decision:
    patient_id: str
    assessed_on: str
    decision: DecisionKind
    summary: str
    rules: tuple[RuleResult, ...]
    generators: tuple[Generator, ...]
    recommendations: tuple[Recommendation, ...]
    prognosis: Prognosis | None
    policy_name: str
    policy_version: str
    # Facts to record before the review can conclude (JSON paths in the workup).
    missing: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return DECISION_LABELS[self.decision]

    @property
    def targets(self) -> tuple[Generator, ...]:
        return tuple(g for g in self.generators if g.is_target)

    def rule(self, rule_id: str) -> RuleResult:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": DECISION_SCHEMA,
            "patient_id": self.patient_id,
            "assessed_on": self.assessed_on,
            "decision": self.decision,
            "summary": self.summary,
            "rules": [r.to_dict() for r in self.rules],
            "generators": [g.to_dict() for g in self.generators],
            "recommendations": [r.to_dict() for r in self.recommendations],
            "prognosis": self.prognosis.to_dict() if self.prognosis else None,
            "policy": {"name": self.policy_name, "version": self.policy_version},
            "missing": list(self.missing),
        }
