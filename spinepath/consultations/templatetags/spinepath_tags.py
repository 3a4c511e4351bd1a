from __future__ import annotations

from django import template

from spinepath.pathway.decision import DECISION_LABELS, RECOMMENDATION_LABELS

register = template.Library()


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
