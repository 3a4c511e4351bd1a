"""Dashboard charts as SVG: mean change with its interval; responder rates with the benchmark."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from spinepath.outcomes.evidence import benchmarks
from spinepath.outcomes.selectors import VisitSummary
from spinepath.pathway.instruments import pain_responder_text
from spinepath.web.policy import clinic_policy

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure() -> Figure:
    """A new figure; matplotlib is imported here, when a chart is drawn (importing it costs a
    process a second or more, and most processes never draw one)."""
    import matplotlib

    matplotlib.use("svg")
    from matplotlib.figure import Figure

    return Figure(figsize=(6.4, 3.4), dpi=100)


def _svg(fig: Figure, title: str) -> str:
    out = io.StringIO()
    fig.tight_layout()
    fig.savefig(out, format="svg")
    svg = out.getvalue()
    start = svg.index("<svg ")
    return svg[start:].replace("<svg ", f'<svg role="img" aria-label="{title}" ', 1)


def trajectory_svg(summaries: list[VisitSummary]) -> str:
    fig = _figure()
    ax = fig.subplots()
    keys = [s.key for s in summaries]
    for attr, label, colour, shift in (
        ("vas_change", "Pain (VAS)", "#1f6f8b", -0.08),
        ("odi_change", "ODI", "#b5542b", 0.08),
    ):
        xs, ys, lows, highs = [], [], [], []
        for i, s in enumerate(summaries):
            mean = getattr(s, attr)
            if mean.mean is None:
                continue
            xs.append(i + shift)
            ys.append(mean.mean)
            lows.append(mean.mean - (mean.low if mean.low is not None else mean.mean))
            highs.append((mean.high if mean.high is not None else mean.mean) - mean.mean)
        if xs:
            ax.errorbar(
                xs,
                ys,
                yerr=[lows, highs],
                marker="o",
                capsize=3,
                color=colour,
                label=f"{label}: mean change, 95% CI",
            )
    ax.axhline(0, color="#5b6b76", linewidth=0.8)
    ax.set_xticks(range(len(keys)), keys)
    ax.set_ylabel("Change from baseline (points)")
    ax.spines[["top", "right"]].set_visible(False)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, frameon=False)
    return _svg(fig, "Mean change in pain and ODI from baseline at each visit, with 95% intervals")


def responder_svg(summaries: list[VisitSummary]) -> str:
    fig = _figure()
    ax = fig.subplots()
    width = 0.38
    for offset, attr, label, colour in (
        (
            -width / 2,
            "pain_responders",
            pain_responder_text(clinic_policy()).capitalize(),
            "#1f6f8b",
        ),
        (width / 2, "any_pain_reduction", "Any pain reduction", "#7fb3c8"),
    ):
        for i, s in enumerate(summaries):
            rate = getattr(s, attr)
            if rate.rate is None:
                continue
            ax.bar(
                i + offset,
                rate.rate * 100,
                width,
                color=colour,
                label=label
                if i == 0 or not ax.get_legend_handles_labels()[1].count(label)
                else None,
                yerr=[[100 * (rate.rate - rate.low)], [100 * (rate.high - rate.rate)]],
                capsize=3,
            )
    keys = [s.key for s in summaries]
    for visit, measure, _label, benchmark in benchmarks():
        if visit in keys:
            i = keys.index(visit)
            x = i - width / 2 if measure == "pain_responder" else i + width / 2
            ax.hlines(
                benchmark * 100,
                x - width / 2,
                x + width / 2,
                colors="#b5542b",
                linestyles="--",
                linewidth=2,
            )
    ax.plot([], [], color="#b5542b", linestyle="--", label="published benchmark")
    ax.set_xticks(range(len(keys)), keys)
    ax.set_ylim(0, 100)
    ax.set_ylabel("Patients (%)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    return _svg(
        fig, "Responder rates at each visit with Wilson intervals and the published benchmarks"
    )
