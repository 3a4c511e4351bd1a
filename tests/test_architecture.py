"""The layers of docs/architecture.md hold: dependencies point down, the domain stays pure."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "spinepath"

# Who may import whom (docs/architecture.md, "Who may import whom"), by import at any depth
# (a module's top, inside a function, in a subpackage) and by string model reference
# ("plans.CarePlan" in a ForeignKey, apps.get_model, a model label). No exemptions.
#
# The library below every app: errors, actors, actions, the pure domain and spinepath.web's
# helpers. It imports no app, except the lowest apps: the policy files (policies) and the
# versions of the clinic's facts (versions), which import no app.
LOWEST = {"policies", "versions"}
LIBRARY = {"errors", "actors", "actions", "pathway", "web"} | LOWEST
ABOVE_ALL = {
    "records",
    "outcomes",
    "public",
    "followup",
    "safety",
    "plans",
    "consultations",
    "patients",
    "accounts",
    "audit",
}
MAY_IMPORT: dict[str, set[str]] = {
    "accounts": set(),
    "policies": set(),
    "versions": set(),
    "audit": {"accounts"},
    "patients": {"accounts", "audit"},
    "consultations": {"patients", "accounts", "audit"},
    "plans": {"consultations", "patients", "accounts", "audit"},
    # Adverse events: asked at follow-up, recorded after an injection (PATHWAY.md section 10).
    "safety": {"plans", "consultations", "patients", "accounts", "audit"},
    "followup": {"safety", "plans", "consultations", "patients", "accounts", "audit"},
    # Bookings: injection sessions are appointments of an accepted plan; the appointment is the
    # side that links a plan's session and the injection done in it.
    "public": {"safety", "plans", "consultations", "patients", "accounts", "audit"},
    "outcomes": {"followup", "safety", "plans", "consultations", "patients", "accounts", "audit"},
    # A patient's whole record (the chart, the FHIR bundle) and the audit log's pages, which
    # name the patients of its events: they assemble the apps below.
    "records": ABOVE_ALL - {"records"},
    # The FHIR API and the patient's own pages read every app below; nothing imports them.
    "fhir_api": ABOVE_ALL,
    "portal": ABOVE_ALL,
}
APPS = set(MAY_IMPORT)
# The site on top: settings, URLs, the WSGI entry, the command line, the demo loader, backups.
TOP = {"site", "cli", "commands", "demo", "backups"}
# Packages of data files (the policy defaults live in policies, an app).
DATA = {"protocols", "contracts"}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _model_references(path: Path) -> set[str]:
    """The apps a file names by model label: "plans.CarePlan", "patients.patient" (a
    ForeignKey's target, apps.get_model, a label compared), or ("plans", "CarePlan")."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            label = node.value.split(".")
            # "plans.CarePlan" (a model) or "patients.patient" (a label_lower compared)
            if (
                len(label) == 2
                and label[0] in APPS
                and label[1].isidentifier()
                and len(label[1]) > 3
            ):
                found.add(label[0])
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "get_model"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value).split(".")[0])
    return found


def _part(module: str) -> str | None:
    """``spinepath.plans.models`` -> ``plans``; ``spinepath.web.policy`` -> ``web``."""
    parts = module.split(".")
    if parts[0] != "spinepath" or len(parts) < 2:
        return None
    return parts[1]


def _source_files(folder: str) -> list[Path]:
    return [p for p in (PACKAGE / folder).rglob("*.py") if "migrations" not in p.parts]


def _library_files() -> list[Path]:
    files = [PACKAGE / f"{name}.py" for name in ("errors", "actors", "actions")]
    return files + _source_files("web") + _source_files("pathway")


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


def test_the_library_imports_no_app() -> None:
    upward = [
        f"{path.relative_to(PACKAGE).as_posix()} uses {part}"
        for path in _library_files()
        for part in {_part(m) for m in _imports(path)} | _model_references(path)
        if part in APPS - LOWEST
    ]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("app", sorted(MAY_IMPORT))
def test_an_app_imports_only_the_layers_below_it(app: str) -> None:
    upward = []
    for path in _source_files(app):
        relative = path.relative_to(PACKAGE).as_posix()
        for module in _imports(path):
            part = _part(module)
            if part is None or part == app or part in LIBRARY:
                continue
            if part not in MAY_IMPORT[app]:
                upward.append(f"spinepath/{relative} imports {module}")
        for part in _model_references(path) - {app}:
            if part not in MAY_IMPORT[app] and part not in LOWEST:
                upward.append(f"spinepath/{relative} names a model of {part}")
    assert not upward, "\n".join(upward)


def test_the_apps_have_no_cycle() -> None:
    """The dependencies found (imports and model labels) between apps form no cycle."""
    edges: dict[str, set[str]] = {app: set() for app in APPS}
    for app in APPS:
        for path in _source_files(app):
            parts = {_part(m) for m in _imports(path)} | _model_references(path)
            edges[app] |= {p for p in parts if p in APPS and p != app}
    state: dict[str, int] = {}

    def visit(app: str, trail: list[str]) -> None:
        state[app] = 1
        for nxt in sorted(edges[app]):
            if state.get(nxt) == 1:
                raise AssertionError(" -> ".join([*trail, app, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, app])
        state[app] = 2

    for app in sorted(APPS):
        if app not in state:
            visit(app, [])


def test_every_app_has_a_place_in_the_layers() -> None:
    folders = {
        p.name
        for p in PACKAGE.iterdir()
        if p.is_dir()
        and (p / "__init__.py").exists()
        and p.name not in (LIBRARY - LOWEST) | TOP | DATA
    }
    assert folders == APPS


def test_the_role_table_in_the_docs_is_the_one_in_code() -> None:
    from spinepath.pathway.authority import AUTHORS

    doc = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for fact, roles in AUTHORS.items():
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{fact}` "))
        cells = [c.strip() for c in row.strip("|").split("|")][1:]
        assert cells == [
            "yes" if role in roles else "-" for role in ("clinician", "coordinator", "clinic_admin")
        ], fact
