"""Each promise is decided in one place (spinepath/pathway/gates.py) over one standing of the
patient; this test fails when a gate's predicate appears anywhere else in the code."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "spinepath"

# Each gate's predicate, and the only modules that may call it. The candidacy engine reads the
# MRI window on the review day (reading.py, through mri_cutoff); every gate on a later day asks
# gates.mri_refusal.
ONLY_IN: dict[str, set[str]] = {
    "mri_within_window": {"pathway/recency.py", "pathway/gates.py"},
    "mri_cutoff": {"pathway/recency.py", "pathway/reading.py"},
    "clinical_facts": {"pathway/standing.py", "pathway/gates.py", "consultations/selectors.py"},
    "needs_reading": {"pathway/standing.py", "consultations/selectors.py"},
    "consultations_in_review_order": {"pathway/standing.py", "consultations/selectors.py"},
    "surgery_inside_recovery": {
        "pathway/reading.py",
        "pathway/rules.py",
        "pathway/engine.py",
        "pathway/gates.py",
    },
    "injection_problem": {"pathway/plans.py", "pathway/gates.py"},
}
# Names that only ever mean "the gate's answer": nothing outside the gates defines them again.
NOT_DEFINED_ELSEWHERE = {
    "pricing_problem": {"plans/pricing.py"},  # a thin wrapper returning the gate's sentence
    "procedure_refusals": {"pathway/gates.py"},
    "decision_in_force": {"pathway/gates.py", "consultations/selectors.py"},
    "prices_refusal": {"pathway/gates.py", "plans/standing.py"},
    "latest_mri": {"pathway/standing.py"},
    "is_candidate": {"pathway/gates.py"},
}


def _modules() -> list[tuple[str, ast.Module]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        found.append((str(path.relative_to(PACKAGE)), ast.parse(path.read_text())))
    return found


def test_each_gate_predicate_is_called_only_where_it_belongs() -> None:
    misplaced = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            called = None
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if called in ONLY_IN and name not in ONLY_IN[called]:
                misplaced.append(f"{name}:{node.lineno} calls {called}")
    assert not misplaced, misplaced


def test_no_module_decides_a_gate_again() -> None:
    misplaced = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                allowed = NOT_DEFINED_ELSEWHERE.get(node.name)
                if allowed is not None and name not in allowed:
                    misplaced.append(f"{name}:{node.lineno} defines {node.name}")
    assert not misplaced, misplaced


def test_no_mri_window_arithmetic_outside_the_recency_module() -> None:
    """The window is "months before a day": only recency.py computes it from the policy."""
    misplaced = []
    for name, tree in _modules():
        if name == "pathway/recency.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "mri_max_age_months":
                parent_ok = name in {"pathway/gates.py", "pathway/engine.py", "pathway/rules.py"}
                if not parent_ok and not name.startswith(("pathway/policy", "pathway/selfscreen")):
                    misplaced.append(f"{name}:{node.lineno}")
    assert not misplaced, misplaced
