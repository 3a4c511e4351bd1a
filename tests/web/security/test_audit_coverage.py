"""What the audit log covers (ONC 170.315(d)(2), (3), (10)): every page, each in one table and
in the docs; sign-in and sign-out; exports as an accounting of disclosures that names each
patient; the admin's filters by record number and the CSV - each checked the way a reviewer
would look."""

from __future__ import annotations

import csv
import io

from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from repo_paths import REPO
from treatment_helpers import treated
from web_helpers import PASSWORD

from spinepath.audit.models import AuditEvent
from spinepath.audit.pages import NOT_RECORDED, RECORDED


def _url_names(resolver: URLResolver, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace or ""
            names |= _url_names(entry, inner if entry.namespace else namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(f"{namespace}:{entry.name}" if namespace else entry.name)
    return names


def test_every_page_is_in_exactly_one_audit_table() -> None:
    names = _url_names(get_resolver())
    assert not set(RECORDED) & set(NOT_RECORDED)
    assert names - set(RECORDED) - set(NOT_RECORDED) == set(), "pages in no table"
    assert set(RECORDED) | set(NOT_RECORDED) <= names, "tables name pages that do not exist"


def test_docs_security_lists_every_page_and_whether_it_is_recorded() -> None:
    text = (REPO / "docs" / "security.md").read_text()
    recorded, not_recorded = text.split("### Pages not recorded", 1)
    for name in RECORDED:
        assert f"`{name}`" in recorded, name
    for name in NOT_RECORDED:
        assert f"`{name}`" in not_recorded, name


def test_sign_in_and_sign_out_are_recorded_with_the_address(clinician: User) -> None:
    client = Client()
    client.post(
        "/accounts/login/", {"username": "clin", "password": "wrong"}, REMOTE_ADDR="10.1.1.7"
    )
    client.post(
        "/accounts/login/", {"username": "clin", "password": PASSWORD}, REMOTE_ADDR="10.1.1.7"
    )
    client.post("/accounts/logout/", REMOTE_ADDR="10.1.1.7")
    events = list(AuditEvent.objects.order_by("seq").values_list("action", "username", "address"))
    assert events == [
        ("sign_in_failed", "clin", "10.1.1.7"),
        ("sign_in", "clin", "10.1.1.7"),
        ("sign_out", "clin", "10.1.1.7"),
    ]


def test_a_cohort_export_names_every_patient_it_disclosed(
    clinician: User, clinician_client: Client
) -> None:
    first = treated(clinician, days_ago=60)
    second = treated(clinician, days_ago=200, email="b@example.org")
    response = clinician_client.get("/outcomes/export/cohort.csv")
    b"".join(response.streaming_content)
    event = AuditEvent.objects.get(action="export")
    assert event.username == "clin"
    assert event.what == "cohort CSV (identified): 2 patients"
    assert event.detail["records"] == sorted([first.mrn, second.mrn])


def test_the_record_number_filter_finds_views_and_the_exports_that_disclosed_the_patient(
    clinician: User, clinician_client: Client, admin_client: Client
) -> None:
    patient = treated(clinician, days_ago=60)
    other = treated(clinician, days_ago=200, email="b@example.org")
    clinician_client.get(f"/patients/{patient.pk}/")
    clinician_client.get(f"/patients/{other.pk}/")
    b"".join(clinician_client.get("/outcomes/export/cohort.xlsx").streaming_content)
    page = admin_client.get(f"/audit/?record={patient.mrn}")
    events = list(page.context["page"])
    assert {e.what for e in events if e.action == "view"} == {"chart"}
    assert all(e.patient_id in (patient.pk, None) for e in events)
    exports = [e.what for e in events if e.action == "export"]
    assert exports == ["cohort Excel (identified): 2 patients"]
    assert b"patients disclosed (2)" in page.content


def test_the_audit_csv_has_the_filtered_events_and_is_itself_recorded(
    clinician: User, clinician_client: Client, admin_client: Client
) -> None:
    patient = treated(clinician, days_ago=60)
    clinician_client.get(f"/patients/{patient.pk}/")
    response = admin_client.get(f"/audit/audit-log.csv?record={patient.mrn}&action=view")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["username"], r["what"], r["record"]) for r in rows] == [
        ("clin", "chart", patient.mrn)
    ]
    assert AuditEvent.objects.filter(action="export", username="boss").exists()


def test_an_unreadable_filter_is_named(admin_client: Client) -> None:
    response = admin_client.get("/audit/?from=yesterday&action=steal")
    assert b"From: a date written YYYY-MM-DD" in response.content
    assert b"Action: choose one from the list." in response.content


def test_a_price_change_and_new_financing_terms_are_recorded(admin_client: Client) -> None:
    from spinepath.plans.models import PriceItem

    item = PriceItem.objects.order_by("pk").first()
    assert item is not None
    admin_client.post("/prices/", {"item": item.pk, "amount": "1234.50"})
    admin_client.post(
        "/prices/",
        {"action": "financing", "provider": "Lender", "term_months": 24, "annual_rate_pct": "4"},
    )
    # One event per write, each holding the record it created with its values.
    price = AuditEvent.objects.get(what=f"price of {item.name}: 1234.50")
    terms = AuditEvent.objects.get(what__startswith="financing terms: Lender")
    assert price.username == terms.username == "boss"
    [created] = price.detail["changes"]
    assert created["action"] == "create"
    assert created["after"]["amount"] == "1234.50"
    assert created["after"]["item"] == str(item.pk)
    assert terms.detail["changes"][0]["after"]["provider"] == "Lender"
