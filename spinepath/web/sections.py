"""The section of the staff menu a page belongs to, marked as the current one in the header
(templates/base.html). A view may name its section itself (``nav`` in its context); otherwise
it is that of the page's URL namespace: a chart, a consultation, a plan and its procedures are
the patient's pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

SECTIONS = {
    "patients": "patients",
    "records": "patients",
    "consultations": "patients",
    "plans": "patients",
    "followup": "worklist",
    "safety": "safety",
    "outcomes": "outcomes",
}
# Pages of a namespace that belong to another section.
VIEW_SECTIONS = {"consultations:import": "import"}


def section(request: HttpRequest) -> dict[str, Any]:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return {}
    found = VIEW_SECTIONS.get(match.view_name) or SECTIONS.get(match.namespace)
    return {"nav": found} if found else {}
