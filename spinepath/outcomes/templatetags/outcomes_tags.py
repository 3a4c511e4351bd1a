"""How the outcomes pages write a rate: rare events need decimals that responder rates do not."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.0055 -> "0.55%", 0.037 -> "3.7%", 0.42 -> "42%"; None -> "-"."""
    if value is None:
        return "-"
    shown = value * 100
    if shown == 0 or shown == 100:
        return f"{shown:.0f}%"
    if shown < 1:
        return f"{shown:.2f}%"
    if shown < 10:
        return f"{shown:.1f}%"
    return f"{shown:.0f}%"


@register.filter
def thousands(value: int | None) -> str:
    """2372 -> "2,372"."""
    return "-" if value is None else f"{int(value):,}"
