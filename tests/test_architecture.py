"""The layers of docs/architecture.md hold: dependencies point down, the domain stays pure."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "spinepath"

# Who may import whom (docs/architecture.md, "Who may import whom"). Every app may also use
# the errors, the clinic's policy and the refuse-update triggers.
ANYONE = {
    "errors",
    "policies",  # the policy files, the drafts and the versions adopted (below every app)
    "web.policy",
    "web.immutable",
    "web.params",
    "web.refusals",
    "web.clients",
    "web.spreadsheet",
    "web.versioned",
    "web.submissions",
    "web.text",
}
MAY_IMPORT: dict[str, set[str]] = {
    "accounts": set(),
    "policies": {"pathway"},
    "audit": {"accounts", "patients"},
    "patients": {"accounts", "audit", "pathway"},
    "consultations": {"patients", "accounts", "audit", "pathway"},
    "plans": {"consultations", "patients", "accounts", "audit", "pathway"},
    "followup": {"plans", "consultations", "patients", "accounts", "audit", "pathway"},
    # Injection sessions are appointments of an accepted plan: booking reads the plan.
    "public": {"plans", "consultations", "patients", "accounts", "audit", "pathway"},
    "outcomes": {"followup", "plans", "consultations", "patients", "accounts", "audit", "pathway"},
    # The FHIR API reads every app below (and stores check-ins through followup's service).
    "fhir_api": {
        "public",
        "followup",
        "plans",
        "consultations",
        "patients",
        "accounts",
        "audit",
        "pathway",
    },
    # The patient's own pages read every app below; nothing imports them.
    "portal": {
        "public",
        "followup",
        "plans",
        "consultations",
        "patients",
        "accounts",
        "audit",
        "pathway",
    },
}
# The two views that assemble a whole record sit above the apps they read.
ASSEMBLERS = {"patients/views.py", "patients/fhir.py"}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _spinepath_part(module: str) -> str | None:
    """``spinepath.plans.models`` -> ``plans``; ``spinepath.web.policy`` -> ``web.policy``."""
    parts = module.split(".")
    if parts[0] != "spinepath" or len(parts) < 2:
        return None
    return ".".join(parts[1:3]) if parts[1] == "web" else parts[1]


def _source_files(folder: str) -> list[Path]:
    return [p for p in (PACKAGE / folder).rglob("*.py") if "migrations" not in p.parts]


def test_the_domain_imports_no_framework_and_nothing_above_it() -> None:
    allowed_outside = {"pydantic", "orjson", "__future__"}
    for path in _source_files("pathway"):
        for module in _imports(path):
            top = module.split(".")[0]
            if top == "spinepath":
                assert module.startswith("spinepath.pathway"), f"{path.name} imports {module}"
            else:
                assert top in sys.stdlib_module_names or top in allowed_outside, (
                    f"spinepath/pathway/{path.name} imports {module}"
                )


@pytest.mark.parametrize("app", sorted(MAY_IMPORT))
def test_an_app_imports_only_the_layers_below_it(app: str) -> None:
    upward = []
    for path in _source_files(app):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in ASSEMBLERS:
            continue
        for module in _imports(path):
            part = _spinepath_part(module)
            if part is None or part == app or part in ANYONE:
                continue
            if part not in MAY_IMPORT[app]:
                upward.append(f"spinepath/{relative} imports {module}")
    assert not upward, "\n".join(upward)


def test_the_role_table_in_the_docs_is_the_one_in_code() -> None:
    from spinepath.pathway.authority import AUTHORS

    doc = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for fact, roles in AUTHORS.items():
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{fact}` "))
        cells = [c.strip() for c in row.strip("|").split("|")][1:]
        assert cells == [
            "yes" if role in roles else "-" for role in ("clinician", "coordinator", "clinic_admin")
        ], fact
