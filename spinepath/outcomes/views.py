"""Outcomes dashboard, evidence library and cohort exports (clinicians and the clinic admin)."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from spinepath.accounts.actors import actor_of, admin_actor
from spinepath.accounts.roles import OUTCOMES_READERS
from spinepath.actors import Actor
from spinepath.audit.middleware import showing
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Invalid, NotAllowed, Refused
from spinepath.outcomes import (
    cache,
    charts,
    evidence,
    exports,
    ichom,
    model,
    safety_rates,
    selectors,
    whatif,
)
from spinepath.outcomes import completion as completion_selectors
from spinepath.outcomes.completion import completion_figures
from spinepath.outcomes.forms import PolicyDraftForm
from spinepath.outcomes.stats import FOLLOW_UP_WARNING
from spinepath.pathway.odds import VISIT_WORDS as VISITS_WORDS
from spinepath.pathway.odds import model_checks, model_thresholds, model_verdict
from spinepath.pathway.safety_outcomes import composite_text
from spinepath.plans.forms import RECORD_ID_MAX
from spinepath.policies.models import AdoptedPolicy, PolicyDraft
from spinepath.web.policy import clinic_policy
from spinepath.web.refusals import show_on_form


def _reader(request: HttpRequest) -> Actor:
    """The actor of an outcomes page: a clinician or the clinic admin (the outcomes are read,
    never stated, so no fact of the authority table is theirs)."""
    actor = actor_of(request)
    if not actor.has_role(*OUTCOMES_READERS):
        raise NotAllowed(
            "The outcomes are for clinicians and the clinic admin.", code="outcomes_readers"
        )
    return actor


# The earliest date of the data a page may ask for.
EARLIEST_DATA = date(2000, 1, 1)


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _record_id(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= RECORD_ID_MAX:
        return None
    return int(text)


def bad_filters(request: HttpRequest) -> list[str]:
    """The query-string filters that cannot be read (named on the page, 400)."""
    get = request.GET
    bad = [n for n in ("from", "to") if get.get(n) and _date(get[n]) is None]
    if get.get("clinician") and _record_id(get["clinician"]) is None:
        bad.append("clinician")
    return bad


def filters_from(request: HttpRequest) -> selectors.Filters:
    get = request.GET
    return selectors.Filters(
        generator=get.get("generator", "")[:20],
        prognosis=get.get("prognosis", "")[:10],
        levels=get.get("levels", "")[:3],
        material=get.get("material", "")[:10],
        clinician=_record_id(get.get("clinician", "")),
        injected_from=_date(get.get("from", "")),
        injected_to=_date(get.get("to", "")),
    )


@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    _reader(request)
    filters = filters_from(request)
    bad = bad_filters(request)
    today = timezone.localdate()

    def compute() -> tuple[list[selectors.VisitSummary], str, str]:
        summaries = selectors.visit_summaries(filters, today)
        return summaries, charts.trajectory_svg(summaries), charts.responder_svg(summaries)

    def figures() -> str:
        summaries, trajectory, responders = cache.cached("dashboard", today, filters, compute)
        return render_to_string(
            "outcomes/_dashboard_figures.html",
            {
                "summaries": summaries,
                "trajectory": mark_safe(trajectory),
                "responders": mark_safe(responders),
                "definitions": selectors.RESPONDER_DEFINITIONS,
                "follow_up_warning": FOLLOW_UP_WARNING,
                "safety": _safety(today),
                "composite_rule": composite_text(clinic_policy()),
            },
        )

    return render(
        request,
        "outcomes/dashboard.html",
        {
            # The figures as HTML, kept with the figures they show (the same data versions,
            # day, policy and filters): laying out their tables took most of the page's time.
            "figures": mark_safe(cache.cached("dashboard-html", today, filters, figures)),
            "filters": filters,
            "query": request.GET.urlencode(),
            "clinicians": User.objects.filter(groups__name="clinician").order_by("last_name"),
            "bad_dates": [n for n in bad if n in ("from", "to")],
            "bad_clinician": "clinician" in bad,
            "nav": "outcomes",
        },
        status=400 if bad else 200,
    )


def _safety(today: date) -> safety_rates.SafetyFigures:
    """The event rates per material, product and lot: every injection, whatever the filters."""
    return cache.cached("safety", today, selectors.Filters(), safety_rates.safety_figures)


@require_safe
def completion(request: HttpRequest) -> HttpResponse:
    """Follow-up completion (PATHWAY.md section 11): per visit and reminder step, and who is
    being lost, against the target at 12 months. Every patient, whatever the filters."""
    _reader(request)
    today = timezone.localdate()
    figures = cache.cached(
        "completion", today, selectors.Filters(), lambda: completion_figures(today)
    )
    return render(
        request,
        "outcomes/completion.html",
        {
            "f": figures,
            "c": figures.completion,
            "steps": clinic_policy().reminder_steps,
            "nav": "outcomes",
        },
    )


@require_safe
def completion_line(request: HttpRequest) -> HttpResponse:
    """The worklist's one line: the completion at the target visit against the target, loaded
    after the worklist so that its count never slows the worklist down."""
    _reader(request)
    today, policy = timezone.localdate(), clinic_policy()
    line = cache.cached(
        "completion-line",
        today,
        selectors.Filters(),
        lambda: completion_selectors.target_counts(today).completion(policy),
    )
    return render(request, "outcomes/_completion_line.html", {"c": line})


@require_safe
def features(request: HttpRequest) -> HttpResponse:
    """Outcomes by candidacy feature at one visit, and whether the prognosis tiers separate
    them. Reads every measured visit and its signed workup (seconds at 100,000 patients): its
    own page, computed once per change of the data, so the dashboard stays quick."""
    _reader(request)
    keys = [v.key for v in clinic_policy().visits]
    by_visit = request.GET.get("by_visit", "")
    by_visit = by_visit if by_visit in keys else clinic_policy().non_response_judged_from_visit
    breakdown = cache.cached(
        f"breakdown-{by_visit}",
        timezone.localdate(),
        selectors.Filters(),
        lambda: selectors.feature_breakdown(by_visit),
    )
    return render(
        request,
        "outcomes/features.html",
        {
            "breakdown": breakdown,
            "visit_choices": [(v.key, v.label) for v in clinic_policy().visits],
            "nav": "outcomes",
        },
    )


def _synthetic_cohort(request: HttpRequest) -> bool:
    """``?cohort=synthetic``: the model on the synthetic demonstration patients too (any other
    value is the clinic's own patients)."""
    return request.GET.get("cohort", "") == "synthetic"


@require_safe
def model_page(request: HttpRequest) -> HttpResponse:
    """The clinic's model of 12-month pain response: its population, its cross-validated
    calibration beside the policy's thresholds, the verdict, the odds ratios and the plot."""
    _reader(request)
    from spinepath.outcomes.odds import data_date

    synthetic = _synthetic_cohort(request)
    # The model patients are given: of the data up to the day before today.
    result = model.clinic_model(data_date(timezone.localdate()), include_synthetic=synthetic)
    thresholds = model_thresholds(clinic_policy())
    shown, reasons = model_verdict(result.calibration, thresholds)
    return render(
        request,
        "outcomes/model.html",
        {
            "result": result,
            "checks": model_checks(result.calibration, thresholds) if result.calibration else [],
            "shown": shown,
            "reasons": reasons,
            "synthetic": synthetic,
            "description": model.plot_description(result),
            "nav": "outcomes",
        },
    )


@require_safe
def model_png(request: HttpRequest) -> HttpResponse:
    _reader(request)
    from spinepath.outcomes.odds import data_date

    synthetic, as_of = _synthetic_cohort(request), data_date(timezone.localdate())
    png = cache.cached(
        "model-png",
        as_of,
        model.ModelCohort(synthetic),
        lambda: model.calibration_png(model.clinic_model(as_of, include_synthetic=synthetic)),
    )
    return HttpResponse(png, content_type="image/png")


@require_safe
def like_you(request: HttpRequest) -> HttpResponse:
    """The treated courses behind a "patients like you" group's figures. The group's counts
    are those patients were given for the date of the data (computed once for that day and
    kept); the rows are the records as they are now, each counted as the figures count it. If
    the records changed since the figures were computed (an import, a correction), the page
    says so and gives both counts."""
    from django.core.paginator import Paginator

    from spinepath.outcomes import odds
    from spinepath.pathway.odds import FEATURES, VISITS, group_tallies

    actor = _reader(request)
    today = timezone.localdate()
    latest = odds.data_date(today)
    text = request.GET.get("as_of", "")
    as_of = _date(text) if text else latest
    if as_of is None or as_of < EARLIEST_DATA or len(text) > 10:
        raise Invalid(
            "as_of: the date of the data must be a date written YYYY-MM-DD, from "
            f"{EARLIEST_DATA.isoformat()}.",
            fields={"as_of": "Not a date of the data."},
        )
    as_of = min(as_of, latest)
    group = odds.group_from({name: request.GET.get(name, "") for name in FEATURES})
    now = group_tallies(odds.feature_counts(group.kind, as_of), group)
    kept = odds.stored_counts(group.kind, as_of)
    given = group_tallies(kept[0].outcomes, group) if kept else None
    page = Paginator(odds.group_courses(group, as_of), 100).get_page(request.GET.get("page"))
    rows = [odds.course_row(visit, as_of) for visit in page]
    showing(request, [row["visit"].patient for row in rows])
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "outcomes/like_you.html",
        {
            "group": group.words(),
            "as_of": as_of,
            "computed_at": kept[1] if kept else None,
            "tallies": [(VISITS_WORDS.get(v, v), (given or now)[v], now[v]) for v in VISITS],
            "changed": given is not None and given != now,
            "may_recount": actor.may("policy_draft") and as_of == latest,
            "is_latest": as_of == latest,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "nav": "outcomes",
        },
    )


@require_POST
def figures_recount(request: HttpRequest) -> HttpResponse:
    """The clinic admin recounts the day's figures (after an import or a restore)."""
    from spinepath.outcomes import daily, odds

    actor = admin_actor(request, does="recounts the day's figures")
    today = timezone.localdate()
    count = daily.figures_recount(actor=actor, as_of=odds.data_date(today))
    odds.daily_figures(today)  # counted again now, not by the next patient's page
    messages.success(
        request,
        f"The day's figures will be counted again from the records as they are now "
        f"({count} kept figure{'s' if count != 1 else ''} set aside, still kept). A plan read "
        "before is accepted only once read again.",
    )
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/outcomes/") else "outcomes:model")


@require_safe
def evidence_library(request: HttpRequest) -> HttpResponse:
    _reader(request)
    today, everyone = timezone.localdate(), selectors.Filters()
    summaries = cache.cached(
        "summaries", today, everyone, lambda: selectors.visit_summaries(everyone, today)
    )
    return render(
        request,
        "outcomes/evidence.html",
        {
            "studies": evidence.studies(),
            "comparisons": selectors.evidence_comparisons(summaries),
            "summaries": {s.key: s for s in summaries},
            "safety": _safety(today),
            "safety_measures": evidence.SAFETY_MEASURES,
            "nav": "outcomes",
        },
    )


def _rows(request: HttpRequest, deidentified: bool) -> object:
    bad = bad_filters(request)
    if bad:
        raise Invalid(f"These filters cannot be read: {', '.join(bad)}.")
    rows = selectors.cohort_rows(timezone.localdate(), filters_from(request))
    return exports.deidentified(rows) if deidentified else rows


def _disclosed(request: HttpRequest, actor: Actor, what: str) -> None:
    """The accounting of disclosures: who exported which patients' data, with the filters."""
    records = selectors.cohort_record_numbers(filters_from(request))
    audit_record(
        actor=actor,
        action=AuditEvent.EXPORT,
        what=f"{what}: {len(records)} patients",
        detail={"filters": request.GET.urlencode(), "records": records},
    )


@require_safe
def export_csv(request: HttpRequest, kind: str) -> HttpResponse:
    actor = _reader(request)
    deid = kind == "deidentified"
    rows = _rows(request, deid)
    _disclosed(request, actor, f"cohort CSV ({'de-identified' if deid else 'identified'})")
    response = StreamingHttpResponse(
        exports.csv_lines(rows),  # type: ignore[arg-type]
        content_type="text/csv",
    )
    name = "cohort-deidentified.csv" if deid else "cohort.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_safe
def export_ichom(request: HttpRequest) -> HttpResponse:
    """The ICHOM low back pain export (identified: record numbers), with the same readers,
    filters and accounting of disclosures as the cohort export."""
    actor = _reader(request)
    bad = bad_filters(request)
    if bad:
        raise Invalid(f"These filters cannot be read: {', '.join(bad)}.")
    policy = clinic_policy()
    rows = ichom.ichom_rows(timezone.localdate(), policy, filters_from(request))
    _disclosed(request, actor, "ICHOM low back pain CSV (identified)")
    response = StreamingHttpResponse(ichom.ichom_csv_lines(rows, policy), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="ichom-low-back-pain.csv"'
    return response


@require_safe
def export_ichom_dictionary(request: HttpRequest) -> HttpResponse:
    _reader(request)
    response = StreamingHttpResponse(
        ichom.ichom_dictionary_lines(clinic_policy()), content_type="text/csv"
    )
    response["Content-Disposition"] = 'attachment; filename="ichom-low-back-pain-dictionary.csv"'
    return response


@require_safe
def export_excel(request: HttpRequest) -> HttpResponse:
    actor = _reader(request)
    rows = _rows(request, False)
    _disclosed(request, actor, "cohort Excel (identified)")
    handle = exports.excel_file(rows)  # type: ignore[arg-type]
    return FileResponse(
        handle,
        as_attachment=True,
        filename="cohort.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@require_safe
def outcomes_report(request: HttpRequest) -> HttpResponse:
    """The publishable report (PDF), built from the de-identified cohort only."""
    actor = _reader(request)
    from spinepath.outcomes.report import report_pdf

    now = timezone.now()
    pdf = report_pdf(timezone.localdate(), clinic_policy(), now)
    audit_record(
        actor=actor,
        action=AuditEvent.EXPORT,
        what="outcomes report PDF (de-identified, aggregated)",
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="outcomes-report-{now:%Y-%m-%d}.pdf"'
    return response


@require_safe
def export_dictionary(request: HttpRequest) -> HttpResponse:
    _reader(request)
    response = StreamingHttpResponse(exports.dictionary_lines(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="cohort-data-dictionary.csv"'
    return response


# --- Policy what-if ------------------------------------------------------------------------

TRIES_POLICIES = "tries and adopts policies"


@require_http_methods(["GET", "HEAD", "POST"])
def policy_drafts(request: HttpRequest) -> HttpResponse:
    """Upload a draft policy (a TOML file or pasted text); the what-if starts at once."""
    actor = admin_actor(request, does=TRIES_POLICIES)
    form = PolicyDraftForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            draft = whatif.draft_upload(actor=actor, text=form.policy_text())
        except Refused as refused:
            show_on_form(form, refused)
        else:
            whatif.draft_start(draft)
            return redirect("outcomes:policy_draft", draft.pk)
    current = clinic_policy()
    return render(
        request,
        "outcomes/policy_drafts.html",
        {
            "form": form,
            "drafts": PolicyDraft.objects.select_related("uploaded_by")[:30],
            "adopted": AdoptedPolicy.objects.select_related("adopted_by")[:30],
            "current": current,
            "nav": "outcomes",
        },
        status=400 if form.errors else 200,
    )


@require_safe
def policy_draft(request: HttpRequest, draft_id: int) -> HttpResponse:
    admin_actor(request, does=TRIES_POLICIES)
    draft = get_object_or_404(PolicyDraft.objects.select_related("uploaded_by"), pk=draft_id)
    stalled = whatif.stalled(draft)
    context = {
        "draft": draft,
        "current": clinic_policy(),
        "adopted": getattr(draft, "adopted", None),
        "stalled": stalled,
        "label_taken": draft.status == draft.DONE
        and not hasattr(draft, "adopted")
        and whatif.label_taken(draft.name, draft.version),
        "nav": "outcomes",
    }
    # The report names the patients a draft would move (by record number): the page's event
    # lists each one, as any list does.
    changes = (draft.result or {}).get("changes") if isinstance(draft.result, dict) else None
    showing(
        request,
        [],
        numbers=[c["patient"] for c in changes or [] if isinstance(c, dict) and c.get("patient")],
    )
    running = draft.status in (draft.QUEUED, draft.RUNNING) and not stalled
    if request.headers.get("HX-Request") and running:
        return render(request, "outcomes/_draft_progress.html", context)
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"  # finished: the whole page shows the report
        return response
    return render(request, "outcomes/policy_draft.html", context)


@require_POST
def policy_restart(request: HttpRequest, draft_id: int) -> HttpResponse:
    actor = admin_actor(request, does=TRIES_POLICIES)
    whatif.draft_restart(actor=actor, draft_id=draft_id)
    return redirect("outcomes:policy_draft", draft_id)


@require_POST
def policy_adopt(request: HttpRequest, draft_id: int) -> HttpResponse:
    actor = admin_actor(request, does=TRIES_POLICIES)
    adopted = whatif.draft_adopt(actor=actor, draft_id=draft_id)
    messages.success(
        request,
        f"{adopted.name} {adopted.version} is now the clinic's policy. Decisions already signed "
        "keep the version they were made under.",
    )
    return redirect("outcomes:policy_draft", draft_id)
