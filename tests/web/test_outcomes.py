"""The outcomes dashboard, the evidence library and the cohort exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook
from shared_world import on_the_suite_day, shared_world

from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
from spinepath.outcomes.exports import date_shift, pseudonym
from spinepath.outcomes.synthetic import generate_cohort
from spinepath.patients.models import Patient

TODAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def cohort_for_the_module(django_db_setup: Any, django_db_blocker: Any) -> Iterator[int]:
    """The cohort, made once for the module's tests (tests/shared_world.py)."""
    with shared_world(django_db_blocker):
        with on_the_suite_day():
            count = generate_cohort(120, seed=5, today=TODAY)
        yield count


@pytest.fixture
def cohort(db: Any, cohort_for_the_module: int) -> int:
    """120 treated patients; each test's changes are rolled back after it."""
    return cohort_for_the_module


def test_dashboard_is_for_clinicians_and_admin(
    cohort: int, coordinator_client: Client, clinician_client: Client, admin_client: Client
) -> None:
    assert coordinator_client.get("/outcomes/").status_code == 403
    assert coordinator_client.get("/outcomes/export/cohort.csv").status_code == 403
    assert clinician_client.get("/outcomes/").status_code == 200
    assert admin_client.get("/outcomes/evidence/").status_code == 200


def test_dashboard_counts_match_the_records(cohort: int, clinician_client: Client) -> None:
    summaries = {s.key: s for s in clinician_client.get("/outcomes/").context["summaries"]}
    measured = OutcomeMeasurement.objects.filter(visit__key="6m").count()
    assert summaries["6m"].measured == measured
    changes = list(
        OutcomeMeasurement.objects.filter(visit__key="6m").values_list("pain_change_mm", flat=True)
    )
    assert summaries["6m"].vas_change.mean == pytest.approx(sum(changes) / len(changes))


def test_filters_change_the_counts(cohort: int, clinician_client: Client) -> None:
    def measured(query: str) -> int:
        page = clinician_client.get(f"/outcomes/?{query}")
        return sum(s.measured for s in page.context["summaries"])

    everyone = measured("")
    facet = measured("generator=facet")
    disc = measured("generator=discogenic")
    assert 0 < facet < everyone and 0 < disc < everyone
    assert facet == OutcomeMeasurement.objects.filter(visit__generator="facet").count()
    weaker = measured("prognosis=weaker")
    assert weaker == OutcomeMeasurement.objects.filter(visit__prognosis_tier="weaker").count()
    three = measured("levels=3%2B")
    assert three == OutcomeMeasurement.objects.filter(visit__target_count__gte=3).count()
    recent = measured("from=2026-06-01")
    assert (
        recent
        == OutcomeMeasurement.objects.filter(visit__injected_on__gte=date(2026, 6, 1)).count()
    )


def test_a_bad_date_filter_is_named(cohort: int, clinician_client: Client) -> None:
    page = clinician_client.get("/outcomes/?from=31/12/2026")
    assert page.context["bad_dates"] == ["from"]
    assert b"Enter a date written YYYY-MM-DD." in page.content


def test_evidence_library_compares_with_the_published_rates(
    cohort: int, clinician_client: Client
) -> None:
    page = clinician_client.get("/outcomes/evidence/")
    comparisons = page.context["comparisons"]
    assert {c.label for c in comparisons} == {
        "Less pain at 12 months",
        "Pain improved by more than 30% at 12 months",
    }
    for c in comparisons:
        assert c.comparison.verdict in ("consistent", "below", "above", "too_small")
    assert b"One-year study of low-dose intradiscal MSC" in page.content


def test_csv_export_has_a_row_per_patient_and_visit(cohort: int, clinician_client: Client) -> None:
    response = clinician_client.get("/outcomes/export/cohort.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == ReassessmentVisit.objects.count()
    assert rows[0].keys() >= {"patient", "visit", "pain_change_mm", "odi_responder"}


def test_excel_export_has_the_cohort_and_its_dictionary(
    cohort: int, clinician_client: Client
) -> None:
    response = clinician_client.get("/outcomes/export/cohort.xlsx")
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    assert book.sheetnames == ["cohort", "data dictionary"]
    assert sum(1 for _ in book["cohort"].iter_rows()) == ReassessmentVisit.objects.count() + 1


def test_deidentified_export_contains_no_identifier(cohort: int, clinician_client: Client) -> None:
    for p in Patient.objects.all()[:50]:
        p.email = f"{p.given_name.lower()}.{p.pk}@example.org"
        p.save(update_fields=["email"])
    response = clinician_client.get("/outcomes/export/cohort-deidentified.csv")
    text = b"".join(response.streaming_content).decode()
    for p in Patient.objects.all():
        for identifier in (
            f"{p.given_name} {p.family_name}",
            p.mrn,
            p.external_id,
            p.email,
            p.birth_date.isoformat(),
        ):
            if identifier:
                assert identifier not in text
    first = next(csv.DictReader(io.StringIO(text)))
    patient = next(p for p in Patient.objects.all() if pseudonym(p.pk) == first["patient"])
    visit = ReassessmentVisit.objects.filter(patient=patient).order_by("due").first()
    assert visit is not None
    assert first["due"] == (visit.due + date_shift(patient.pk)).isoformat()


def test_the_dashboard_is_computed_once_and_again_after_a_measurement(
    clinician: Any, clinician_client: Client
) -> None:
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from treatment_helpers import treated
    from web_helpers import acting, dashboard_due_and_measured

    from spinepath.followup.services import Answers, paper_form_enter

    patient = treated(clinician, 100)

    def six_weeks() -> tuple[Any, int]:
        # Due and measured at 6 weeks as the page shows them, and the queries it took.
        with CaptureQueriesContext(connection) as queries:
            shown = dashboard_due_and_measured(clinician_client, "6 weeks")
        return shown, len(queries)

    first, computed = six_weeks()
    again, cached = six_weeks()
    assert first == again == (1, 0)
    assert cached < computed  # the aggregates came from the cache
    paper_form_enter(
        actor=acting(clinician),
        visit=ReassessmentVisit.objects.get(patient=patient, key="6w"),
        measured_on=timezone.localdate() - timedelta(days=58),
        answers=Answers(40, "vas", [2] * 10),
    )
    assert six_weeks()[0] == (1, 1)


# --- Issue 16: definitions, loss to follow-up, features ------------------------------------


def test_other_responder_definitions_match_the_records(
    cohort: int, clinician_client: Client
) -> None:
    page = clinician_client.get("/outcomes/")
    six = {s.key: s for s in page.context["summaries"]}["6m"]
    inside = OutcomeMeasurement.objects.filter(visit__key="6m", outside_window=False)
    big = inside.filter(pain_change_pct__lte=-50).count()
    assert (six.substantial_pain.successes, six.substantial_pain.n) == (
        big,
        inside.exclude(pain_change_pct=None).count(),
    )
    odi = inside.filter(odi_change_points__lte=-10).count()
    assert six.odi_mcid.successes == odi
    text = page.content.decode()
    assert "IMMPACT" in text and "Ostelo" in text


def test_follow_up_rates_and_bounds_match_the_records(
    cohort: int, clinician_client: Client
) -> None:
    from spinepath.followup.models import ReassessmentVisit

    page = clinician_client.get("/outcomes/")
    for s in page.context["summaries"]:
        closed = ReassessmentVisit.objects.filter(
            key=s.key, injected_on__isnull=False, closes__lt=TODAY
        )
        measured = closed.filter(
            measurement__isnull=False, measurement__outside_window=False
        ).count()
        assert s.closed == closed.count()
        assert s.loss.measured == measured and s.loss.lost == closed.count() - measured
        if s.loss.worst is not None:
            assert s.loss.worst <= (s.loss.observed or 0) <= s.loss.best
    assert b"Follow-up and the patients lost" in page.content


def test_the_breakdown_counts_every_measured_patient_once_per_feature(
    cohort: int, clinician_client: Client
) -> None:
    page = clinician_client.get("/outcomes/features/?by_visit=6m")
    breakdown = page.context["breakdown"]
    measured = OutcomeMeasurement.objects.filter(
        visit__key="6m", outside_window=False, pain_responder__isnull=False
    ).count()
    by_feature: dict[str, int] = {}
    for row in breakdown.rows:
        by_feature[row.feature] = by_feature.get(row.feature, 0) + row.pain_responders.n
    assert set(by_feature.values()) == {measured}
    assert breakdown.tiers.n == sum(
        r.pain_responders.n
        for r in breakdown.rows
        if r.feature.startswith("Prognosis tier") and r.value in ("weaker", "typical", "strongest")
    )
    assert b"Do the prognosis tiers separate outcomes?" in page.content
    assert clinician_client.get("/outcomes/features/?by_visit=nonsense").status_code == 200
    assert b"/outcomes/features/" in clinician_client.get("/outcomes/").content


def _known_features(measurement: OutcomeMeasurement) -> dict[str, str]:
    """A measured course's features, worked out from its records (not from the visit's
    stored features): what the treated targets, the signed decision and its workup say."""
    plan = measurement.visit.plan
    injections = list(plan.procedures.filter(voided_at__isnull=True).order_by("performed_on"))
    kinds = {p.generator for p in injections}
    discs = {p.level for p in injections if p.generator == "discogenic"}
    workup = plan.decision.workup_json
    latest = max((s for s in workup["imaging"] if s["modality"] == "MRI"), key=lambda s: s["date"])
    grades = [lv["pfirrmann"] for lv in latest["levels"] if lv["level"] in discs]
    born, first = measurement.patient.birth_date, injections[0].performed_on
    age = first.year - born.year - ((first.month, first.day) < (born.month, born.day))
    return {
        "Generator (what was treated)": {
            "discogenic": "an injection into a disc",
            "facet": "facet joint injections",
            "myoligamentous": "ligament injections",
        }[kinds.pop()]
        if len(kinds) == 1
        else "injections at more than one kind of target",
        "Pfirrmann grade (treated discs, latest MRI)": f"grade {max(grades)}"
        if grades
        else "no disc treated",
        "Pain pattern (signed workup)": {
            "axial": "back pain mainly",
            "mixed": "back and leg pain",
            "radicular": "leg pain mainly",
        }[workup["history"]["pattern"]],
        "Prognosis tier (signed decision)": plan.decision.decision_json["prognosis"]["tier"],
        "Age band (at the first injection)": "under 40"
        if age < 40
        else "70 and over"
        if age >= 70
        else f"{age // 10 * 10}-{age // 10 * 10 + 9}",
    }


def test_each_feature_row_counts_the_patients_with_that_feature(
    cohort: int, admin_client: Client
) -> None:
    """Issue 30: the grade is the treated discs' (a facet or ligament course treated no disc,
    so it never shows as grade 1), the pattern and tier are the signed decision's, and every
    value is in words."""
    page = admin_client.get("/outcomes/features/?by_visit=12m")
    measured = OutcomeMeasurement.objects.filter(
        visit__key="12m", outside_window=False, pain_responder__isnull=False
    ).select_related("visit__plan__decision", "patient")
    expected: dict[tuple[str, str], int] = {}
    for m in measured:
        for feature, value in _known_features(m).items():
            expected[(feature, value)] = expected.get((feature, value), 0) + 1
    shown = {
        (r.feature, r.value): r.pain_responders.n
        for r in page.context["breakdown"].rows
        if r.feature in {f for f, _ in expected}
    }
    assert shown == expected
    text = page.content.decode()
    assert "grade 1" not in text and "grade 2" not in text
    for raw in (">discogenic<", ">axial<", ">myoligamentous<"):
        assert raw not in text
    assert "no disc treated" in text and "an injection into a disc" in text


def test_the_data_dictionary_names_each_definitions_source(
    cohort: int, clinician_client: Client
) -> None:
    text = b"".join(clinician_client.get("/outcomes/export/dictionary.csv").streaming_content)
    assert b"substantial_pain" in text and b"IMMPACT" in text and b"Ostelo" in text


def test_the_report_from_deidentified_rows_has_the_dashboards_numbers(
    cohort: int, clinician_client: Client
) -> None:
    from spinepath.outcomes.report import deidentified_rows, report_from_rows
    from spinepath.outcomes.selectors import Filters, visit_summaries
    from spinepath.web.policy import clinic_policy

    dashboard = visit_summaries(Filters(), TODAY)
    report = report_from_rows(deidentified_rows(TODAY), clinic_policy())
    for d, r in zip(dashboard, report.summaries, strict=True):
        assert (d.key, d.measured, d.lost, d.closed) == (r.key, r.measured, r.lost, r.closed)
        for name in (
            "pain_responders",
            "any_pain_reduction",
            "odi_responders",
            "substantial_pain",
            "pain_mcid",
            "odi_mcid",
        ):
            assert getattr(d, name) == getattr(r, name), (d.key, name)
        for name in ("vas_change", "odi_change"):
            dm, rm = getattr(d, name), getattr(r, name)
            assert dm.n == rm.n
            if dm.mean is not None:
                assert dm.mean == pytest.approx(rm.mean)
        assert d.loss == r.loss
        assert d.composite == r.composite, d.key
    assert [c.comparison for c in report.comparisons] == [
        c.comparison for c in clinician_client.get("/outcomes/evidence/").context["comparisons"]
    ]
    assert report.patients == len({row["patient"] for row in deidentified_rows(TODAY)})
    assert all(not p.startswith("SY") for p in {row["patient"] for row in deidentified_rows(TODAY)})


def test_the_composite_endpoint_matches_the_records(cohort: int, clinician_client: Client) -> None:
    """Pain at least 50% and ODI at least 15 points lower, at 12 and 24 months (nobody in the
    synthetic cohort was re-intervened)."""
    summaries = {s.key: s for s in clinician_client.get("/outcomes/").context["summaries"]}
    assert [k for k, s in summaries.items() if s.composite is not None] == ["12m", "24m"]
    for key in ("12m", "24m"):
        inside = OutcomeMeasurement.objects.filter(visit__key=key, outside_window=False)
        both = inside.exclude(pain_change_pct=None).exclude(odi_change_points=None)
        met = both.filter(pain_change_pct__lte=-50, odi_change_points__lte=-15).count()
        composite = summaries[key].composite
        assert composite is not None
        assert (composite.rate.successes, composite.rate.n) == (met, both.count())
        assert composite.reintervened == 0
        closed = summaries[key].closed
        assert composite.loss.measured + composite.loss.lost == closed


def test_the_report_pdf_is_for_clinicians_and_audited(
    cohort: int, clinician_client: Client, coordinator_client: Client
) -> None:
    from spinepath.audit.models import AuditEvent

    assert coordinator_client.get("/outcomes/report.pdf").status_code == 403
    response = clinician_client.get("/outcomes/report.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(what__startswith="outcomes report PDF").count() == 1


def test_the_what_if_outcomes_split_the_treated_without_losing_anyone(cohort: int) -> None:
    from spinepath.outcomes.whatif import outcomes_side_by_side

    six = OutcomeMeasurement.objects.filter(
        visit__key="6m", outside_window=False, pain_responder__isnull=False
    )
    mrns = sorted(set(six.values_list("patient__mrn", flat=True)))
    excluded, included = set(mrns[:5]), set(mrns[5:8])
    row = next(o for o in outcomes_side_by_side(excluded, included) if o["visit"] == "6 months")
    assert row["excluded"]["measured"] == six.filter(patient__mrn__in=excluded).count()
    assert row["included"]["measured"] == six.filter(patient__mrn__in=included).count()
    assert sum(g["measured"] for g in row["groups"]) == six.count()
    assert sum(g["responders"] for g in row["groups"]) == six.filter(pain_responder=True).count()


def test_the_dashboard_shows_each_section_once_under_a_plain_title(
    cohort: int, clinician_client: Client
) -> None:
    page = clinician_client.get("/outcomes/").content.decode()
    assert "<title>Outcomes · spinepath</title>" in page
    for heading in ("Follow-up and the patients lost", "Other responder definitions"):
        assert page.count(heading) == 1
    assert "By candidacy features" not in page  # on its own page
