"""Plan, prices and procedure pages. Every page about prices first asks require_candidate."""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from spinepath.accounts.actors import actor_of, admin_actor, staff_actor
from spinepath.audit.middleware import viewing
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.selectors import decision_in_force
from spinepath.errors import Refused
from spinepath.pathway.biologics import Dose
from spinepath.pathway.gates import injections_left
from spinepath.pathway.injections import Fluoroscopy, PreProcedureChecks
from spinepath.pathway.plans import Target
from spinepath.patients.models import Patient
from spinepath.plans import acceptance, biologics, pricing, procedures, selectors, services
from spinepath.plans.documents import plan_context, plan_pdf_bytes
from spinepath.plans.forms import (
    AcceptForm,
    FinancingForm,
    InjectionForm,
    ItemForm,
    LookbackForm,
    LotForm,
    PriceForm,
    ProcedureForm,
    ProductForm,
    RecallForm,
    RemoveLineForm,
    VoidForm,
    show_refusal,
)
from spinepath.plans.models import BiologicProduct, CarePlan, PriceItem, Procedure
from spinepath.plans.standing import patient_standing

SEES = "can see plans"


def _target_key(target: Target) -> str:
    return "|".join((target.generator, target.level or "", target.side or ""))


def _target_from_key(key: str) -> Target:
    parts = ([*key.split("|"), "", "", ""])[:3]
    return Target(parts[0], parts[1] or None, parts[2] or None)


def _plan(request: HttpRequest, plan_id: int) -> CarePlan:
    staff_actor(request, sees=SEES)
    plan = get_object_or_404(CarePlan.objects.select_related("patient", "decision"), pk=plan_id)
    pricing.require_candidate(plan.patient)
    return plan


@require_http_methods(["GET", "HEAD", "POST"])
def patient_plan(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The patient's current plan, or the offer to write one (candidates only)."""
    staff_actor(request, sees=SEES)
    patient = get_object_or_404(Patient, pk=patient_id)
    viewing(request, patient)
    signed = pricing.require_candidate(patient)
    plans = list(CarePlan.objects.filter(patient=patient))
    if request.method == "POST":
        plan = services.plan_create(patient=patient, actor=actor_of(request))
        return redirect("plans:plan", plan.pk)
    return render(
        request, "plans/patient_plans.html", {"patient": patient, "plans": plans, "signed": signed}
    )


@require_http_methods(["GET", "HEAD", "POST"])
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan(request, plan_id)
    targets = [
        (_target_key(t), t.label)
        for t in sorted(
            selectors.decision_targets(plan.decision), key=lambda t: (t.generator, t.level or "")
        )
    ]
    injection_form = InjectionForm(targets=targets, prefix="inj")
    item_form = ItemForm(prefix="item")
    status = 200
    if request.method == "POST" and not plan.is_frozen:
        action = request.POST.get("action")
        try:
            if action == "injection":
                injection_form = InjectionForm(request.POST, targets=targets, prefix="inj")
                if injection_form.is_valid():
                    data = injection_form.cleaned_data
                    services.plan_injection_add(
                        plan=plan,
                        actor=actor_of(request),
                        target=_target_from_key(data["target"]),
                        material=data["material"],
                        guidance=data["guidance"],
                        product_kind=data["product_kind"],
                        ind_number=data["ind_number"],
                        planned_on=data["planned_on"],
                        submission_key=data["submission"],
                    )
                    return redirect("plans:plan", plan.pk)
            elif action == "item":
                item_form = ItemForm(request.POST, prefix="item")
                if item_form.is_valid():
                    data = item_form.cleaned_data
                    services.plan_item_add(
                        plan=plan,
                        actor=actor_of(request),
                        item=data["item"],
                        quantity=data["quantity"],
                        phase=data["phase"],
                        submission_key=data["submission"],
                    )
                    return redirect("plans:plan", plan.pk)
            elif action == "remove":
                remove = RemoveLineForm(request.POST)
                if remove.is_valid():
                    services.plan_line_remove(
                        plan=plan,
                        line_id=remove.cleaned_data["line"],
                        actor=actor_of(request),
                    )
                    return redirect("plans:plan", plan.pk)
                messages.error(request, "That line is not on this plan.")
        except Refused as refused:
            if action == "injection":
                show_refusal(injection_form, refused)
            elif action == "item":
                show_refusal(item_form, refused)
            elif refused.status in (403, 404):
                raise
            else:
                messages.error(request, " ".join(refused.reasons))
        status = 400
    elif request.method == "POST":
        said = "released to the patient" if plan.status == CarePlan.RELEASED else "accepted"
        messages.error(request, f"This plan was {said} and is frozen; make a new version.")
        status = 409
    viewing(request, plan.patient)
    return render(
        request,
        "plans/plan.html",
        {
            **plan_context(plan),
            "injection_form": injection_form,
            "item_form": item_form,
            "sessions": selectors.plan_sessions(plan) if plan.status == CarePlan.ACCEPTED else [],
            "visits": selectors.plan_visits(plan) if plan.status == CarePlan.ACCEPTED else [],
            "shown": selectors.plan_content_hash(plan) if plan.status == CarePlan.DRAFT else "",
        },
        status=status,
    )


@require_safe
def plan_pdf(request: HttpRequest, plan_id: int) -> HttpResponse:
    """An accepted plan's PDF is the document the patient accepted: its stored bytes, with
    their SHA-256. A draft is printed now."""
    plan = _plan(request, plan_id)
    if plan.accepted_pdf_sha256:
        pdf, digest = bytes(plan.accepted_pdf), plan.accepted_pdf_sha256
    else:
        pdf = plan_pdf_bytes(plan, printed_at=timezone.now())
        digest = ""
    audit_record(
        actor=actor_of(request),
        action=AuditEvent.EXPORT,
        what=f"plan v{plan.version} PDF",
        patient=plan.patient,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"plan-{plan.patient.mrn}-v{plan.version}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    if digest:
        response["X-Content-SHA256"] = digest
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def plan_accept(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan(request, plan_id)
    viewing(request, plan.patient)
    form = AcceptForm(request.POST or None, initial={"shown": selectors.plan_content_hash(plan)})
    if request.method == "POST" and form.is_valid():
        try:
            acceptance.plan_accept(
                plan=plan,
                typed_name=form.cleaned_data["typed_name"],
                actor=actor_of(request),
                shown=form.cleaned_data["shown"],
            )
        except Refused as refused:
            show_refusal(form, refused)
            # Show the plan as it is now, with its own hash: what the patient reads next.
            form.data = form.data.copy()
            form.data["shown"] = selectors.plan_content_hash(plan)
        else:
            messages.success(request, "The patient accepted the plan. It is now frozen.")
            return redirect("plans:plan", plan.pk)
    return render(
        request,
        "plans/accept.html",
        {**plan_context(plan), "form": form},
        status=400 if form.errors else 200,
    )


@require_POST
def plan_release(request: HttpRequest, plan_id: int) -> HttpResponse:
    """A clinician releases the draft they read to the patient (its content hash comes with
    the button)."""
    plan = _plan(request, plan_id)
    viewing(request, plan.patient)
    try:
        acceptance.plan_release(
            actor=actor_of(request), plan_id=plan.pk, shown=request.POST.get("shown", "")
        )
    except Refused as refused:
        if refused.status in (403, 404):
            raise
        messages.error(request, " ".join(refused.reasons))
    else:
        messages.success(
            request,
            "Released to the patient: it is on their own pages to read and accept, and it can "
            "no longer be edited.",
        )
    return redirect("plans:plan", plan.pk)


@require_POST
def plan_revise(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan(request, plan_id)
    viewing(request, plan.patient)
    new = services.plan_revise(plan=plan, actor=actor_of(request))
    return redirect("plans:plan", new.pk)


def _procedure_targets(patient: Patient, plan: CarePlan | None) -> list[tuple[str, str]]:
    """The plan's targets and the decision's; the service then refuses, with its reasons,
    whatever the accepted plan, the MRI or the decision does not allow."""
    found = selectors.planned_targets(plan) if plan is not None else []
    signed = decision_in_force(patient).signed
    if signed is not None:
        found += sorted(
            selectors.decision_targets(signed), key=lambda t: (t.generator, t.level or "")
        )
    return [(_target_key(t), t.label) for t in dict.fromkeys(found)]


@require_http_methods(["GET", "HEAD", "POST"])
def procedure_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    staff_actor(request, sees=SEES)
    patient = get_object_or_404(Patient, pk=patient_id)
    viewing(request, patient)
    plan = selectors.accepted_plan(patient)
    left = injections_left(patient_standing(patient)) if plan is not None else {}
    targets = [
        (
            key,
            f"{label} (no injection left in the plan)"
            if left.get(_target_from_key(key)) == 0
            else label,
        )
        for key, label in _procedure_targets(patient, plan)
    ]
    form = ProcedureForm(
        request.POST or None,
        targets=targets,
        initial={
            "submission": procedures.new_submission_key(),
            "performed_on": timezone.localdate(),
        },
    )
    refusals: list[str] = []
    if request.method == "POST":
        actor_of(request).require("procedure")
        if form.is_valid():
            data = form.cleaned_data
            try:
                procedures.procedure_record(
                    patient=patient,
                    actor=actor_of(request),
                    target=_target_from_key(data["target"]),
                    performed_on=data["performed_on"],
                    material=data["material"],
                    guidance=data["guidance"],
                    dose=data["dose"],
                    volume_ml=data["volume_ml"],
                    complications=data["complications"],
                    submission_key=data["submission"],
                    lot_code=data["lot_code"],
                    dose_measured=Dose(
                        cells_million=data["cells_million"],
                        viability_pct=data["viability_pct"],
                        platelets_k_per_ul=data["platelets_k_per_ul"],
                        leukocytes_k_per_ul=data["leukocytes_k_per_ul"],
                    ),
                    fluoroscopy=Fluoroscopy(data["fluoroscopy_seconds"], data["air_kerma_mgy"]),
                    checks=PreProcedureChecks(
                        consent_confirmed=data["consent_confirmed"],
                        site_marked=data["site_marked"],
                        time_out_done=data["time_out_done"],
                        time_out_led_by=data["time_out_by"].pk if data["time_out_by"] else None,
                    ),
                )
            except procedures.ProcedureRefused as refused:
                refusals = refused.reasons
            except Refused as refused:
                show_refusal(form, refused)
            else:
                messages.success(request, "Procedure recorded.")
                return redirect("records:chart", patient.pk)
    return render(
        request,
        "plans/procedure.html",
        {
            "patient": patient,
            "form": form,
            "plan": plan,
            "refusals": refusals,
            "can_record": actor_of(request).may("procedure"),
            # Said before anything is typed: the plan's injections are all recorded.
            "plan_used": bool(left) and not any(left.values()),
            "injections": list(selectors.patient_procedures(patient)),
        },
        status=400 if (form.errors or refusals) else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def procedure_void(request: HttpRequest, procedure_id: int) -> HttpResponse:
    """A clinician voids a wrong entry, with the reason; it stays on the record, struck through."""
    staff_actor(request, sees=SEES)
    procedure = get_object_or_404(
        Procedure.objects.select_related(
            "patient", "operator", "voided_by", "time_out_by", "lot__product"
        ),
        pk=procedure_id,
    )
    viewing(request, procedure.patient)
    form = VoidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            procedures.procedure_void(
                procedure=procedure,
                actor=actor_of(request),
                reason=form.cleaned_data["reason"],
            )
        except Refused as refused:
            show_refusal(form, refused)
        else:
            messages.success(
                request,
                "The entry is voided and stays on the record; the follow-up schedule counts "
                "from the injections that stand.",
            )
            return redirect("plans:procedure", procedure.patient_id)
    return render(
        request,
        "plans/void.html",
        {
            "procedure": procedure,
            "patient": procedure.patient,
            "form": form,
            "can_void": actor_of(request).may("procedure_void"),
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def price_list(request: HttpRequest) -> HttpResponse:
    admin_actor(request, does="keeps the price list")
    items = PriceItem.objects.prefetch_related("versions")
    terms = selectors.current_financing()
    financing_form = FinancingForm(
        initial={
            "provider": terms.provider,
            "term_months": terms.term_months,
            "annual_rate_pct": terms.annual_rate_pct,
        }
    )
    errors: dict[int, str] = {}
    if request.method == "POST":
        if request.POST.get("action") == "financing":
            financing_form = FinancingForm(request.POST)
            if financing_form.is_valid():
                pricing.financing_set(actor=actor_of(request), **financing_form.cleaned_data)
                messages.success(request, "Financing terms saved; new plans use them.")
                return redirect("plans:prices")
        else:
            form = PriceForm(request.POST)
            if form.is_valid():
                item = form.cleaned_data["item"]
                pricing.price_set(
                    item=item, amount=form.cleaned_data["amount"], actor=actor_of(request)
                )
                messages.success(
                    request, f"New price for {item.name}. Plans already written keep their prices."
                )
                return redirect("plans:prices")
            if "item" in form.errors:
                messages.error(request, "Choose an item from the price list.")
            else:
                item_id = form.cleaned_data["item"].pk
                errors[item_id] = "; ".join(form.errors.get("amount", ["Enter an amount."]))
    return render(
        request,
        "plans/prices.html",
        {
            "items": items,
            "financing_form": financing_form,
            "errors": errors,
            "currency": settings.SPINEPATH_CURRENCY,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def products(request: HttpRequest) -> HttpResponse:
    """The catalogue of biologic products and their lots (the clinic admin's)."""
    actor = admin_actor(request, does="keeps the catalogue of biologic products")
    product_form = ProductForm(request.POST if request.POST.get("do") == "product" else None)
    lot_form = LotForm(request.POST if request.POST.get("do") == "lot" else None)
    recall_form = RecallForm(request.POST if request.POST.get("do") == "recall" else None)
    if request.method == "POST":
        try:
            if request.POST.get("do") == "recall" and recall_form.is_valid():
                recalled = biologics.lot_recall(
                    actor=actor,
                    lot_id=recall_form.cleaned_data["lot_id"],
                    reason=recall_form.cleaned_data["reason"],
                )
                messages.success(
                    request,
                    f"Lot {recalled.lot} is recalled: it is refused at every procedure. Now "
                    "write to the patients who received it.",
                )
                return redirect(f"{reverse('plans:lookback')}?{urlencode({'lot': recalled.code})}")
            if request.POST.get("do") == "product" and product_form.is_valid():
                made = biologics.product_create(actor=actor, **product_form.cleaned_data)
                messages.success(request, f"{made.name} added to the catalogue.")
                return redirect("plans:products")
            if request.POST.get("do") == "lot" and lot_form.is_valid():
                data = lot_form.cleaned_data
                lot = biologics.lot_create(
                    actor=actor,
                    product_id=data["product"].pk,
                    lot=data["lot"],
                    code=data["code"],
                    expires_on=data["expires_on"],
                    donor=data["donor"],
                )
                messages.success(request, f"Lot {lot.lot} of {lot.product.name} added.")
                return redirect("plans:products")
        except Refused as refused:
            show_refusal(
                {"product": product_form, "recall": recall_form}.get(
                    request.POST.get("do", ""), lot_form
                ),
                refused,
            )
        if request.POST.get("do") not in ("product", "lot", "recall"):
            messages.error(request, "Nothing was done: use one of the forms below.")
    return render(
        request,
        "plans/products.html",
        {
            "products": BiologicProduct.objects.prefetch_related("lots").annotate(
                injections=Count(
                    "lots__injections", filter=Q(lots__injections__voided_at__isnull=True)
                )
            ),
            "product_form": product_form,
            "lot_form": lot_form,
            "recall_form": recall_form,
            "today": timezone.localdate(),
            "nav": "products",
        },
        status=400 if product_form.errors or lot_form.errors or recall_form.errors else 200,
    )


@require_safe
def lookback(request: HttpRequest) -> HttpResponse:
    """Which patients received a lot, a product or a donor's material, with their contact
    details; each patient shown is disclosed (audited), and the list downloads as CSV."""
    actor = admin_actor(request, does="looks back on who received a product")
    form = LookbackForm(request.GET or None)
    found: list[biologics.Recipient] = []
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            found = biologics.lookback(
                lot=data["lot"],
                product_id=data["product"].pk if data["product"] else None,
                donor=data["donor"],
            )
        except Refused as refused:
            show_refusal(form, refused)
    for recipient in found:
        audit_record(
            actor=actor,
            action=AuditEvent.EXPORT,
            what="look-back of a biologic product (contact details disclosed)",
            patient=recipient.patient,
            detail={k: str(v) for k, v in form.cleaned_data.items() if v},
        )
    if request.GET.get("format") == "csv" and form.is_bound and not form.errors:
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="lookback.csv"'
        writer = csv.writer(response)
        writer.writerow(biologics.LOOKBACK_HEADER)
        writer.writerows(biologics.lookback_rows(found))
        return response
    return render(
        request,
        "plans/lookback.html",
        {"form": form, "found": found, "nav": "products", "query": request.GET.urlencode()},
        status=400 if form.errors else 200,
    )
