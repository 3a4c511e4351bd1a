"""The outcome chart: pain (VAS) and disability (ODI) over time, as an SVG made on the server."""

from __future__ import annotations

import io
import textwrap
from datetime import date

from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
from spinepath.followup.selectors import baseline_for, first_injection
from spinepath.pathway.instruments import (
    odi_responder_text,
    odi_responder_threshold,
    pain_responder_text,
    pain_responder_threshold,
)
from spinepath.patients.models import Patient
from spinepath.plans.models import CarePlan
from spinepath.web.policy import clinic_policy

PAIN_COLOUR = "#1f6f8b"
ODI_COLOUR = "#b5542b"


def _empty(message: str) -> str:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 600 80" role="img" '
        f'aria-label="{message}"><text x="10" y="45" font-family="sans-serif" font-size="16" '
        f'fill="#5b6b76">{message}</text></svg>'
    )


def outcome_chart_svg(patient: Patient, *, compact: bool = False) -> str:
    """The course of pain and ODI since the first injection. ``compact``: drawn for a phone's
    width, nearly square, with larger type and the legend under the chart."""
    plan = (
        CarePlan.objects.filter(
            patient=patient, procedures__isnull=False, procedures__voided_at__isnull=True
        )
        .order_by("-version")
        .first()
    )
    start = first_injection(plan.pk) if plan is not None else None
    if plan is None or start is None:
        return _empty("No injection recorded yet: the outcome chart starts at the first one.")
    baseline = baseline_for(patient.pk, start)
    visits = list(ReassessmentVisit.objects.filter(plan=plan))
    points = list(OutcomeMeasurement.objects.filter(visit__plan=plan).order_by("measured_on"))

    def day(when: date) -> int:
        return (when - start).days

    # Answers given outside their window are drawn, hollow, but not joined to the course.
    outside = [m for m in points if m.outside_window]
    points = [m for m in points if not m.outside_window]
    pain = [(day(m.measured_on), m.pain_vas) for m in points if m.pain_vas is not None]
    odi = [(day(m.measured_on), m.odi_score) for m in points if m.odi_score is not None]
    if baseline is not None:
        if baseline.pain is not None:
            pain.insert(0, (day(baseline.measured_on), baseline.pain.value_mm))
        if baseline.odi is not None and baseline.odi.score is not None:
            odi.insert(0, (day(baseline.measured_on), baseline.odi.score))

    # matplotlib is imported here, when a chart is drawn (importing it costs a process a second
    # or more, and most processes never draw one).
    import matplotlib

    matplotlib.use("svg")
    from matplotlib import pyplot as plt
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.9, 4.6) if compact else (6.4, 3.6), dpi=100)
    small = 10 if compact else 8
    ax = fig.subplots()
    last_day = max([day(v.closes) for v in visits if not v.optional] + [60])
    for visit in visits:
        if day(visit.opens) > last_day:
            continue  # an optional visit beyond the chart
        ax.axvspan(day(visit.opens), day(visit.closes), color="#e8f1f5", zorder=0)
        ax.text(
            (day(visit.opens) + day(visit.closes)) / 2,
            98,
            visit.key,
            ha="center",
            va="top",
            fontsize=small,
            color="#5b6b76",
        )
    policy = clinic_policy()
    if baseline is not None and baseline.pain is not None:
        threshold = pain_responder_threshold(baseline.pain.value_mm, policy)
        if threshold is not None:
            ax.axhline(
                threshold,
                color=PAIN_COLOUR,
                linestyle=":",
                linewidth=1,
                label=f"responder: {pain_responder_text(policy)}",
            )
    if baseline is not None and baseline.odi is not None and baseline.odi.score is not None:
        threshold_odi = odi_responder_threshold(baseline.odi.score, policy)
        if threshold_odi is not None:
            ax.axhline(
                threshold_odi,
                color=ODI_COLOUR,
                linestyle=":",
                linewidth=1,
                label=f"responder: {odi_responder_text(policy)}",
            )
    if pain:
        ax.plot(*zip(*pain, strict=True), marker="o", color=PAIN_COLOUR, label="Pain (VAS 0-100)")
    if odi:
        ax.plot(*zip(*odi, strict=True), marker="s", color=ODI_COLOUR, label="ODI (0-100)")
    late = [(day(m.measured_on), m.pain_vas) for m in outside if m.pain_vas is not None]
    if late:
        ax.plot(
            *zip(*late, strict=True),
            linestyle="none",
            marker="o",
            markerfacecolor="white",
            color=PAIN_COLOUR,
            label="pain outside the window (not counted)",
        )
    ax.set_xlim(min([0] + [d for d, _ in pain + odi + late]) - 10, last_day + 10)
    ax.set_ylim(0, 100)
    ax.set_xlabel("Days since the first injection", fontsize=small + 1)
    ax.set_ylabel("Score (lower is better)", fontsize=small + 1)
    ax.tick_params(labelsize=small)
    ax.grid(axis="y", color="#d9e1e6", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    if compact:
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(
            handles,
            [textwrap.fill(label, 38) for label in labels],
            fontsize=9,
            loc="upper left",
            bbox_to_anchor=(-0.2, -0.2),
            frameon=False,
            ncol=1,
        )
    else:
        ax.legend(fontsize=7, loc="lower left", frameon=False, ncol=2)
    fig.tight_layout()
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight" if compact else None)
    plt.close("all")
    svg = out.getvalue()
    title = "Pain and disability over time, with visit windows and responder thresholds"
    return svg.replace("<svg ", f'<svg role="img" aria-label="{title}" ', 1)
