from __future__ import annotations

from datetime import date, datetime

from django import template
from django.urls import get_script_prefix, reverse
from django.utils import timezone

from spinepath.pathway.decision import DECISION_LABELS, RECOMMENDATION_LABELS

register = template.Library()

# A number no real id has: an address reversed once with it stands for every id (id_url).
_ANY_ID = 918273645


@register.filter
def iso(value: object) -> str:
    """A day as YYYY-MM-DD (as ``|date:"Y-m-d"``, without formatting machinery: a worklist
    shows three a row)."""
    if isinstance(value, datetime):
        return timezone.localdate(value).isoformat()
    return value.isoformat() if isinstance(value, date) else ""


@register.simple_tag
def id_url(name: str, pk: object) -> str:
    """The address of view ``name`` for one id (as ``{% url name pk %}``): reversed once per
    name and script prefix, then filled in, for lists that link every row."""
    return _address_of(name, get_script_prefix()).replace(str(_ANY_ID), str(int(str(pk))))


_ADDRESSES: dict[tuple[str, str], str] = {}


def _address_of(name: str, prefix: str) -> str:
    key = (name, prefix)
    if key not in _ADDRESSES:
        _ADDRESSES[key] = reverse(name, args=[_ANY_ID])
    return _ADDRESSES[key]


@register.filter
def words(value: object) -> str:
    """A code such as ``needs_workup`` as words: "needs workup"."""
    return str(value or "").replace("_", " ")


@register.filter
def source_words(value: object) -> str:
    """A pain generator (``discogenic``) in the patient's words: "Disc"."""
    from spinepath.pathway.rules import GENERATOR_NAMES

    name = GENERATOR_NAMES.get(str(value), str(value or "").replace("_", " "))
    return name[:1].upper() + name[1:]


@register.filter
def screen_words(value: object) -> str:
    """A self-screen outcome (``book_consultation``) as its title, never the raw code."""
    from spinepath.pathway.selfscreen import OUTCOME_TITLES

    return OUTCOME_TITLES.get(str(value), str(value or "").replace("_", " "))


@register.filter
def decision_label(value: object) -> str:
    return DECISION_LABELS.get(str(value), str(value))


@register.filter
def recommendation_label(value: object) -> str:
    return RECOMMENDATION_LABELS.get(str(value), str(value))


@register.filter
def money(value: object) -> str:
    """An amount as the clinic writes it: 7,500.00."""
    from decimal import Decimal

    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)):,.2f}"


@register.filter
def phone(value: object) -> str:
    """An E.164 number as people write it in the clinic's country."""
    from spinepath.patients.phones import readable

    return readable(str(value or ""))


@register.filter
def reminder_channel(value: object) -> str:
    from spinepath.pathway.reminders import CHANNEL_WORDS

    return CHANNEL_WORDS.get(str(value), str(value))
