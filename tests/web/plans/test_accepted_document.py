"""The accepted plan's PDF is printed once, at acceptance, and kept: the document the patient
accepted, byte for byte, with its SHA-256. A draft's PDF is printed when asked for."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone
from treatment_helpers import accepted_plan_for, reviewed_patient
from web_helpers import acting

from spinepath.audit.models import AuditEvent
from spinepath.plans.models import CarePlan
from spinepath.plans.pricing import price_set
from spinepath.plans.services import plan_revise


def test_the_accepted_pdf_is_the_stored_document_with_its_hash(
    clinician: Any, clinician_client: Client, admin_user: Any
) -> None:
    day = timezone.localdate() - timedelta(days=3)
    patient = reviewed_patient(clinician, day, "doc-1")
    plan = accepted_plan_for(patient, clinician, day)
    stored = bytes(plan.accepted_pdf)
    assert stored.startswith(b"%PDF")
    assert plan.accepted_pdf_sha256 == hashlib.sha256(stored).hexdigest()
    # Prices change afterwards: the accepted document does not.
    for line in plan.lines.all():
        if line.price_item_id:
            price_set(item=line.price_item, amount=99999, actor=acting(admin_user))
    first = clinician_client.get(f"/plans/{plan.pk}/plan.pdf")
    second = clinician_client.get(f"/plans/{plan.pk}/plan.pdf")
    assert first.content == second.content == stored
    assert first["X-Content-SHA256"] == plan.accepted_pdf_sha256
    assert AuditEvent.objects.filter(action="export", what=f"plan v{plan.version} PDF").count() == 2


def test_a_draft_is_printed_on_demand_and_its_revision_gets_its_own_document(
    clinician: Any, clinician_client: Client
) -> None:
    day = timezone.localdate() - timedelta(days=3)
    patient = reviewed_patient(clinician, day, "doc-2")
    accepted = accepted_plan_for(patient, clinician, day)
    draft = plan_revise(plan=accepted, actor=acting(clinician))
    assert not draft.accepted_pdf_sha256
    response = clinician_client.get(f"/plans/{draft.pk}/plan.pdf")
    assert response.content.startswith(b"%PDF") and "X-Content-SHA256" not in response
    accepted.refresh_from_db()
    assert accepted.accepted_pdf_sha256  # the first document stays
    assert CarePlan.objects.filter(pk=draft.pk, accepted_pdf__isnull=True).exists()


def test_the_document_bytes_never_reach_the_audit_log(clinician: Any) -> None:
    day = timezone.localdate() - timedelta(days=3)
    patient = reviewed_patient(clinician, day, "doc-3")
    accepted_plan_for(patient, clinician, day)
    for event in AuditEvent.objects.filter(action__in=("create", "update")):
        assert "accepted_pdf" not in (event.detail.get("after") or {})
        assert "%PDF" not in str(event.detail)
