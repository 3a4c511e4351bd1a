"""Plans and prices: every refusal, tried from the outside (procedures: test_procedures.py)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from pypdf import PdfReader
from treatment_helpers import released
from web_helpers import acting, import_encounter

from spinepath.consultations.actions import decision_sign
from spinepath.errors import Conflict, Invalid
from spinepath.pathway.plans import Target
from spinepath.plans import acceptance, selectors, services
from spinepath.plans.models import CarePlan, PlanLine, PriceItem


def signed_patient(clinician: Any, token: str = "c" * 24, **changes: Any) -> Any:
    encounter = import_encounter(clinician, **changes)
    decision_sign(encounter=encounter, actor=acting(clinician), token=token)
    return encounter.patient


@pytest.fixture
def candidate(clinician: Any) -> Any:
    return signed_patient(clinician)


@pytest.fixture
def plan(candidate: Any, clinician: Any) -> CarePlan:
    return services.plan_create(patient=candidate, actor=acting(clinician))


def accept(plan: CarePlan, user: Any) -> CarePlan:
    """``plan`` released by the clinician who signed its decision (if still a draft), then
    accepted in the clinic before ``user``."""
    plan.refresh_from_db()
    if plan.status == CarePlan.DRAFT:
        plan = released(plan, plan.decision.signed_by)
    return acceptance.plan_accept(plan=plan, typed_name="Maria Lopez", actor=acting(user))


# --- no prices before a candidate decision ------------------------------------------------


def accept_form(client: Client, plan: CarePlan, typed_name: str) -> dict[str, str]:
    """The accept page's form as the patient fills it: the plan's content hash it shows
    (the plan released first, by the clinician who signed its decision, if still a draft)."""
    plan.refresh_from_db()
    if plan.status == CarePlan.DRAFT:
        released(plan, plan.decision.signed_by)
    shown = client.get(f"/plans/{plan.pk}/accept/").context["form"]["shown"].value()
    return {"typed_name": typed_name, "understood": "on", "shown": shown}


@pytest.mark.parametrize("changes", [{"imaging": []}, {"history__pain_duration_months": 1}])
def test_no_plan_or_price_page_for_a_patient_who_is_not_a_candidate(
    clinician: Any, clinician_client: Client, changes: dict[str, Any]
) -> None:
    patient = signed_patient(clinician, **changes)
    assert clinician_client.get(f"/patients/{patient.pk}/plans/").status_code == 404
    assert clinician_client.post(f"/patients/{patient.pk}/plans/").status_code == 404
    assert not CarePlan.objects.exists()
    chart = clinician_client.get(f"/patients/{patient.pk}/")
    assert b"Treatment plan and prices" not in chart.content


def test_no_plan_before_any_signed_decision(clinician: Any, clinician_client: Client) -> None:
    encounter = import_encounter(clinician)
    assert clinician_client.post(f"/patients/{encounter.patient_id}/plans/").status_code == 404


def test_plan_pages_close_when_a_newer_decision_is_not_candidate(
    clinician: Any, clinician_client: Client, plan: CarePlan
) -> None:
    later = import_encounter(
        clinician, patient=plan.patient, history__conservative_care__status="improving"
    )
    decision_sign(encounter=later, actor=acting(clinician), token="n" * 24)
    for path in (f"/plans/{plan.pk}/", f"/plans/{plan.pk}/plan.pdf", f"/plans/{plan.pk}/accept/"):
        assert clinician_client.get(path).status_code == 404


def test_plan_pdf_needs_a_login(plan: CarePlan) -> None:
    response = Client().get(f"/plans/{plan.pk}/plan.pdf")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_price_list_is_for_the_clinic_admin(
    coordinator_client: Client, admin_client: Client
) -> None:
    assert coordinator_client.get("/prices/").status_code == 403
    assert b"Intradiscal MSC injection" in admin_client.get("/prices/").content


# --- the plan builder ------------------------------------------------------------------------


def test_plan_is_prefilled_from_the_decision(plan: CarePlan) -> None:
    phases = [(line.phase, line.generator, line.level) for line in plan.lines.all()]
    assert phases[0][0] == "prepare"
    assert ("inject", "discogenic", "L4-L5") in phases
    # 6 weeks, 3, 6, 12 and 24 months: 24 months is standard since policy 2.2.
    assert [p for p, _g, _l in phases].count("follow") == 5


def test_a_second_click_opens_the_same_draft(
    candidate: Any, clinician: Any, plan: CarePlan
) -> None:
    assert services.plan_create(patient=candidate, actor=acting(clinician)) == plan
    assert CarePlan.objects.count() == 1


def test_a_tampered_target_is_refused(clinician_client: Client, plan: CarePlan) -> None:
    before = plan.lines.count()
    response = clinician_client.post(
        f"/plans/{plan.pk}/",
        {
            "action": "injection",
            "inj-target": "discogenic|L5-S1|",
            "inj-submission": "t" * 24,
            "inj-material": "msc",
            "inj-guidance": "fluoroscopy",
            "inj-product_kind": "bmac",
        },
    )
    assert response.status_code == 400
    assert plan.lines.count() == before


def test_the_service_refuses_an_unconfirmed_target(plan: CarePlan, clinician: Any) -> None:
    with pytest.raises(Invalid, match="not a confirmed, eligible pain generator"):
        services.plan_injection_add(
            plan=plan,
            actor=acting(clinician),
            target=Target("facet", "L5-S1", "left"),
            material="prp",
            guidance="fluoroscopy",
        )


def test_a_confirmed_target_is_added_with_its_price_once_per_submission(
    clinician_client: Client, plan: CarePlan
) -> None:
    page = clinician_client.get(f"/plans/{plan.pk}/")
    key = page.context["injection_form"].initial["submission"]
    for _ in range(2):  # a double click adds one session
        clinician_client.post(
            f"/plans/{plan.pk}/",
            {
                "action": "injection",
                "inj-submission": key,
                "inj-target": "discogenic|L4-L5|",
                "inj-material": "msc",
                "inj-guidance": "ct",
                "inj-product_kind": "bmac",
                "inj-planned_on": "2026-12-10",
            },
        )
    line = plan.lines.filter(guidance="ct").get()
    assert line.unit_price == Decimal("7500.00") and line.planned_on == date(2026, 12, 10)


def test_regenerative_items_cannot_be_added_without_a_target(
    plan: CarePlan, clinician: Any
) -> None:
    item = PriceItem.objects.get(code="facet-prp")
    with pytest.raises(Invalid):
        services.plan_item_add(
            plan=plan, actor=acting(clinician), item=item, quantity=1, phase="inject"
        )


def test_shockwave_is_covered_for_medicare_with_supplement(clinician: Any) -> None:
    patient = signed_patient(clinician, payer="medicare_ab_supplement")
    plan = services.plan_create(patient=patient, actor=acting(clinician))
    services.plan_item_add(
        plan=plan,
        actor=acting(clinician),
        item=PriceItem.objects.get(code="shockwave"),
        quantity=3,
        phase="prepare",
    )
    figures = selectors.plan_figures(plan)
    assert figures.totals.payer_expected == Decimal("1050.00")
    msc = next(p for line, p in figures.lines if line.generator == "discogenic")
    assert msc.coverage.status == "self_pay" and msc.patient_pays == Decimal("7500.00")


# --- acceptance and freezing -------------------------------------------------------------


def test_acceptance_needs_the_patients_name(clinician_client: Client, plan: CarePlan) -> None:
    response = clinician_client.post(
        f"/plans/{plan.pk}/accept/", accept_form(clinician_client, plan, "Someone Else")
    )
    assert response.status_code == 400
    assert "typed_name" in response.context["form"].errors
    plan.refresh_from_db()
    assert plan.status == "released"  # offered, not accepted


def test_accepting_freezes_the_plan(clinician_client: Client, plan: CarePlan) -> None:
    response = clinician_client.post(
        f"/plans/{plan.pk}/accept/", accept_form(clinician_client, plan, "  maria   LOPEZ ")
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == "accepted" and plan.accepted_name == "maria LOPEZ"
    assert plan.accepted_total == Decimal("8500.00")  # 250 + 7500 + 5 x 150
    lines = plan.lines.count()
    clinician_client.post(f"/plans/{plan.pk}/", {"action": "remove", "line": plan.lines.first().pk})
    clinician_client.post(
        f"/plans/{plan.pk}/",
        {
            "action": "item",
            "item-submission": "i" * 24,
            "item-item": PriceItem.objects.get(code="shockwave").pk,
            "item-quantity": "2",
            "item-phase": "prepare",
        },
    )
    assert plan.lines.count() == lines


def test_the_service_refuses_to_edit_an_accepted_plan(plan: CarePlan, clinician: Any) -> None:
    accept(plan, clinician)
    with pytest.raises(Conflict, match="frozen"):
        services.plan_line_remove(plan=plan, line_id=plan.lines.first().pk, actor=acting(clinician))


def test_double_acceptance_accepts_once(plan: CarePlan, clinician: Any) -> None:
    first = accept(plan, clinician)
    second = accept(plan, clinician)
    assert first.accepted_at == second.accepted_at


def test_a_price_change_leaves_a_written_plan_alone(
    plan: CarePlan, clinician: Any, admin_user: Any, admin_client: Client
) -> None:
    accept(plan, clinician)
    item = PriceItem.objects.get(code="intradiscal-msc")
    response = admin_client.post("/prices/", {"item": item.pk, "amount": "8000"})
    assert response.status_code == 302
    assert plan.lines.get(generator="discogenic").unit_price == Decimal("7500.00")
    new = services.plan_revise(plan=plan, actor=acting(clinician))
    assert new.version == 2 and new.supersedes == plan
    assert new.lines.get(generator="discogenic").unit_price == Decimal("8000.00")
    assert "Price of Intradiscal injection L4-L5" in " ".join(selectors.plan_changes(new))
    accept(new, clinician)
    plan.refresh_from_db()
    assert plan.status == "superseded"


def test_a_negative_price_is_refused(admin_client: Client) -> None:
    item = PriceItem.objects.get(code="shockwave")
    response = admin_client.post("/prices/", {"item": item.pk, "amount": "-5"})
    assert response.status_code == 400
    assert item.versions.count() == 1


def test_the_pdf_shows_every_line_and_the_total(clinician_client: Client, plan: CarePlan) -> None:
    response = clinician_client.get(f"/plans/{plan.pk}/plan.pdf")
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    for line in plan.lines.all():
        assert line.description in text
    assert "8,500.00" in text
    assert "Financing" in text and "708.34 a month" in text  # 8,500 over 12 months at 0%


# A name with Latin accents, Cyrillic and a Chinese character (and Hangul): each must print.
GIVEN, FAMILY = "Zoë", "Łukasz-Müller Иванова 李"


def _pdf_fonts(reader: PdfReader) -> set[str]:
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    return fonts


def test_a_name_in_any_script_prints_in_the_written_plan(
    clinician: Any, clinician_client: Client
) -> None:
    encounter = import_encounter(clinician, names=(GIVEN, FAMILY))
    decision_sign(encounter=encounter, actor=acting(clinician), token="z" * 24)
    plan = services.plan_create(patient=encounter.patient, actor=acting(clinician))
    accepted = clinician_client.post(
        f"/plans/{plan.pk}/accept/", accept_form(clinician_client, plan, f"{GIVEN} {FAMILY}")
    )
    assert accepted.status_code == 302
    response = clinician_client.get(f"/plans/{plan.pk}/plan.pdf")
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert f"{GIVEN} {FAMILY} · record" in text  # the heading
    assert f"name typed as signature: {GIVEN} {FAMILY}," in text  # the acceptance
    fonts = _pdf_fonts(reader)
    assert any(font.endswith("+Noto-Sans-CJK") for font in fonts), fonts  # 李 drawn, not a box


def test_hangul_prints_in_the_written_plan(clinician: Any, clinician_client: Client) -> None:
    encounter = import_encounter(clinician, names=("민준", "김"))
    decision_sign(encounter=encounter, actor=acting(clinician), token="k" * 24)
    plan = services.plan_create(patient=encounter.patient, actor=acting(clinician))
    response = clinician_client.get(f"/plans/{plan.pk}/plan.pdf")
    reader = PdfReader(io.BytesIO(response.content))
    assert "민준 김 · record" in " ".join(reader.pages[0].extract_text().split())
    assert any(font.endswith("+Noto-Sans-Hangul") for font in _pdf_fonts(reader))


def test_the_pdf_reads_nothing_but_its_shipped_fonts() -> None:
    from spinepath.plans.pdf import FONT_FACES, FONTS_DIR, _shipped_files_only

    for _family, name, _weight in FONT_FACES:
        assert (FONTS_DIR / name).is_file()
    for url in ("http://example.org/logo.png", "file:///etc/passwd"):
        with pytest.raises(ValueError):
            _shipped_files_only(url)


def test_plan_lines_are_deleted_only_with_their_draft(plan: CarePlan) -> None:
    assert PlanLine.objects.filter(plan=plan).exists()


def test_no_plan_or_price_once_the_mri_has_expired(
    clinician: Any, clinician_client: Client
) -> None:
    # Candidate at the review (MRI 11 months old), but a year has passed since the MRI today.
    patient = signed_patient(
        clinician, token="m" * 24, assessed_on="2026-10-01", imaging__0__date="2025-11-01"
    )
    from spinepath.consultations.models import ImagingStudy

    assert ImagingStudy.objects.get(patient=patient).performed_on == date(2025, 11, 1)
    assert clinician_client.get(f"/patients/{patient.pk}/plans/").status_code == 404
    assert clinician_client.post(f"/patients/{patient.pk}/plans/").status_code == 404
    chart = clinician_client.get(f"/patients/{patient.pk}/")
    assert b"a new MRI and a new review come first" in chart.content
    assert not CarePlan.objects.exists()


# --- one draft per patient, held by the database ------------------------------------------------


def test_one_draft_per_patient_is_a_database_rule(plan: CarePlan, clinician: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        CarePlan.objects.create(
            patient=plan.patient, decision=plan.decision, version=2, created_by=clinician
        )


def test_a_revision_racing_another_returns_the_one_draft(
    plan: CarePlan, clinician: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    accept(plan, clinician)
    first = services.plan_revise(plan=plan, actor=acting(clinician))
    # As if the other request's draft was not visible yet when this one looked for it: its
    # insert is refused by the constraint, inside a savepoint, and it returns that draft.
    monkeypatch.setattr(services, "_draft", lambda patient: None)
    second = services.plan_revise(plan=plan, actor=acting(clinician))
    assert second == first
    assert CarePlan.objects.filter(patient=plan.patient, status="draft").count() == 1
    assert CarePlan.objects.filter(patient=plan.patient).count() == 2  # the transaction goes on
