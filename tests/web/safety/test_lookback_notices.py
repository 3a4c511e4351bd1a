"""The clinic can reach the patients a look-back found (PATHWAY.md section 10, issue 26): an
email to each patient with an address, a printed letter to the others, each kept and audited
as a disclosure, once per press, and only by the clinic admin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.utils import timezone
from shared_world import on_the_suite_day, shared_world
from treatment_helpers import accepted_plan_for, inject, reviewed_patient
from web_helpers import acting, new_admin, new_clinician

from spinepath.audit.models import AuditEvent
from spinepath.errors import NotAllowed
from spinepath.pathway.biologics import Dose
from spinepath.patients.models import Patient
from spinepath.plans.biologics import lot_create, product_create
from spinepath.plans.models import ProductLot
from spinepath.safety.lookback import Query, lookback_notify
from spinepath.safety.models import LookbackNotice

pytestmark = pytest.mark.django_db


def _recalled(admin_user: Any, clinician: Any) -> dict[str, Any]:
    """A lot of a marrow kit, and two patients injected from it the day before: one with an
    email address, one without."""
    product = product_create(
        actor=acting(admin_user),
        name="Marrow concentrate kit",
        kind="bmac",
        source="autologous",
        establishment="Cell lab (FEI 3001234567)",
    )
    lot = lot_create(
        actor=acting(admin_user),
        product_id=product.pk,
        lot="R-77",
        code="RECALL-R-77",
        expires_on=timezone.localdate() + timedelta(days=60),
    )
    patients = []
    for tag, email in (("lb-1", "ann@example.org"), ("lb-2", "")):
        review = timezone.localdate() - timedelta(days=5)
        patient = reviewed_patient(clinician, review, tag)
        patient.email = email
        patient.save()
        accepted_plan_for(patient, clinician, review)
        inject(
            patient,
            clinician,
            timezone.localdate() - timedelta(days=1),
            lot_code=lot.code,
            dose_measured=Dose(Decimal(12), Decimal(91)),
        )
        patients.append(patient)
    return {"lot": lot, "patients": patients}


@pytest.fixture(scope="module")
def recalled_for_the_module(
    django_db_setup: Any, django_db_blocker: Any
) -> Iterator[dict[str, Any]]:
    """The clinic admin, the clinician and the injected lot, made once for the module's tests
    (tests/shared_world.py): their ids."""
    with shared_world(django_db_blocker), on_the_suite_day():
        admin, clinician = new_admin(), new_clinician()
        made = _recalled(admin, clinician)
        yield {
            "admin": admin.pk,
            "clinician": clinician.pk,
            "lot": made["lot"].pk,
            "patients": [patient.pk for patient in made["patients"]],
        }


@pytest.fixture
def admin_user(db: Any, recalled_for_the_module: dict[str, Any]) -> Any:
    """The clinic admin who catalogued the lot (tests/web/conftest.py's), read afresh."""
    return User.objects.get(pk=recalled_for_the_module["admin"])


@pytest.fixture
def clinician(db: Any, recalled_for_the_module: dict[str, Any]) -> Any:
    """The clinician who injected it (tests/web/conftest.py's), read afresh."""
    return User.objects.get(pk=recalled_for_the_module["clinician"])


@pytest.fixture
def recalled(db: Any, recalled_for_the_module: dict[str, Any]) -> dict[str, Any]:
    """The lot and its two patients, read afresh for each test; each test's changes are rolled
    back after it."""
    return {
        "lot": ProductLot.objects.get(pk=recalled_for_the_module["lot"]),
        "patients": [Patient.objects.get(pk=pk) for pk in recalled_for_the_module["patients"]],
    }


def test_each_patient_is_written_to_once_by_email_or_letter(
    admin_client: Client, recalled: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    page = admin_client.get("/products/lookback/write/?lot=RECALL-R-77")
    assert page.status_code == 200
    body = page.content.decode()
    assert "2 patients: 1 by email" in body
    form = page.context["form"]
    data = {
        "subject": form["subject"].value(),
        "body": form["body"].value(),
        "submission": form["submission"].value(),
    }
    with django_capture_on_commit_callbacks(execute=True):
        sent = admin_client.post("/products/lookback/write/?lot=RECALL-R-77", data)
        again = admin_client.post("/products/lookback/write/?lot=RECALL-R-77", data)
    assert sent.status_code == again.status_code == 302
    assert LookbackNotice.objects.count() == 2
    assert len(mail.outbox) == 1
    assert "RECALL" not in mail.outbox[0].subject and "lot R-77" in mail.outbox[0].body
    assert mail.outbox[0].to == ["ann@example.org"]
    letters = admin_client.get(sent["Location"])
    assert "Print the 1 letter" in letters.content.decode()
    pdf = admin_client.get(f"{sent['Location']}letters.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    disclosed = AuditEvent.objects.filter(
        action=AuditEvent.EXPORT, what__startswith="look-back notice ("
    )
    assert disclosed.count() == 2


def test_only_the_clinic_admin_writes_to_them(
    clinician: Any, coordinator: Any, coordinator_client: Client, recalled: dict[str, Any]
) -> None:
    for user in (clinician, coordinator):
        with pytest.raises(NotAllowed):
            lookback_notify(
                actor=acting(user),
                query=Query(lot="RECALL-R-77"),
                subject="s",
                body="b",
                submission_key="x" * 24,
            )
    assert coordinator_client.get("/products/lookback/write/?lot=RECALL-R-77").status_code == 403
    assert not LookbackNotice.objects.exists()


def test_an_empty_message_is_refused_naming_the_field(
    admin_client: Client, recalled: dict[str, Any]
) -> None:
    page = admin_client.get("/products/lookback/write/?lot=RECALL-R-77")
    key = page.context["form"]["submission"].value()
    refused = admin_client.post(
        "/products/lookback/write/?lot=RECALL-R-77",
        {"subject": "Recall", "body": " ", "submission": key},
    )
    assert refused.status_code == 400
    assert "This field is required." in refused.content.decode() or "Write the message" in (
        refused.content.decode()
    )
    assert 'value="Recall"' in refused.content.decode()
    assert not LookbackNotice.objects.exists()


def test_a_recalled_lot_is_refused_at_every_procedure_and_recalled_once(
    admin_user: Any, admin_client: Client, clinician: Any, recalled: dict[str, Any]
) -> None:
    from spinepath.errors import Invalid
    from spinepath.plans.biologics import lot_recall

    lot = recalled["lot"]
    with pytest.raises(NotAllowed):
        lot_recall(actor=acting(clinician), lot_id=lot.pk, reason="maker's notice")
    posted = admin_client.post(
        "/products/", {"do": "recall", "lot_id": str(lot.pk), "reason": "Maker's notice 12-01"}
    )
    assert posted.status_code == 302 and "/products/lookback/?lot=RECALL-R-77" in posted["Location"]
    admin_client.post("/products/", {"do": "recall", "lot_id": str(lot.pk), "reason": "again"})
    lot.refresh_from_db()
    assert lot.recalled_on == timezone.localdate() and lot.recall_reason == "Maker's notice 12-01"
    assert "recalled" in admin_client.get("/products/").content.decode()
    review = timezone.localdate() - timedelta(days=5)
    patient = reviewed_patient(clinician, review, "lb-3")
    accepted_plan_for(patient, clinician, review)
    with pytest.raises(Invalid) as refused:
        inject(
            patient,
            clinician,
            timezone.localdate(),
            lot_code=lot.code,
            dose_measured=Dose(Decimal(12), Decimal(91)),
        )
    assert refused.value.fields["lot_code"].startswith("This lot was recalled on")


def test_a_code_in_any_case_finds_the_same_patients(recalled: dict[str, Any]) -> None:
    from spinepath.plans.biologics import lookback

    for typed in ("RECALL-R-77", "recall-r-77", " r-77 "):
        assert len(lookback(lot=typed)) == 2, typed


def test_a_mistyped_placeholder_or_a_second_letter_is_not_sent_unasked(
    admin_user: Any, recalled: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    from spinepath.errors import Invalid

    def send(body: str, key: str, again: bool = False) -> Any:
        return lookback_notify(
            actor=acting(admin_user),
            query=Query(lot="recall-r-77"),
            subject="About your injection",
            body=body,
            submission_key=key,
            again=again,
        )

    with pytest.raises(Invalid) as refused:
        send("Dear {nme}, {injections}", "a" * 24)
    assert refused.value.fields["body"].startswith("{nme} is not filled in")
    with django_capture_on_commit_callbacks(execute=True):
        send("Dear {name}, {injections}", "b" * 24)
    with pytest.raises(Invalid) as again:
        send("Dear {name}, a second word", "c" * 24)
    assert "written to about it already" in again.value.fields["again"]
    send("Dear {name}, a second word", "c" * 24, again=True)
    assert LookbackNotice.objects.count() == 4
    assert "Marrow concentrate kit, lot R-77" in LookbackNotice.objects.first().about
