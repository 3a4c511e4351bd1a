from __future__ import annotations

from django import template

from spinepath.pathway.decision import DECISION_LABELS, RECOMMENDATION_LABELS

register = template.Library()


@register.filter
def words(value: object) -> str:
    """A code such as ``needs_workup`` as words: "needs workup"."""
    return str(value or "").replace("_", " ")


@register.filter
def decision_label(value: object) -> str:
    return DECISION_LABELS.get(str(value), str(value))


@register.filter
def recommendation_label(value: object) -> str:
    return RECOMMENDATION_LABELS.get(str(value), str(value))
