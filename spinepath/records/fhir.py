"""A patient's record as a FHIR R4 Bundle: the mapping the data model was named for.

Resources: Patient, Coverage, Encounter (consultations), Observation (pain and ODI, baseline
and follow-up), ImagingStudy, Procedure (earlier procedures, diagnostic blocks, injections),
Condition (confirmed pain generators of the latest signed decision), CarePlan (accepted plans).
Codes are given only where the standard has one we are sure of; otherwise a text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.timezone import localdate

from spinepath.consultations.models import (
    LOINC_PAIN_SEVERITY,
    CandidacyDecision,
    DiagnosticBlock,
    Encounter,
    ImagingStudy,
    PriorProcedure,
)
from spinepath.followup.models import OutcomeMeasurement
from spinepath.pathway.biologics import PRODUCT_KINDS, REGULATORY_ROUTES, regulatory_route
from spinepath.pathway.gates import care_plan_status, plan_refusal
from spinepath.pathway.ichom import ANALGESIC_USE, WORK_STATUS
from spinepath.pathway.instruments import odi_score
from spinepath.pathway.policy import Policy
from spinepath.pathway.safety import CTCAE_GRADES, OUTCOMES, RELATEDNESS, criteria_text
from spinepath.pathway.standing import Standing
from spinepath.patients.models import MRN_SYSTEM, Patient
from spinepath.plans.models import CarePlan, PlanLine, Procedure, ProductLot
from spinepath.plans.standing import patient_standing
from spinepath.safety.models import Reintervention
from spinepath.safety.selectors import EventRow, patient_events
from spinepath.web.policy import clinic_policy

LOINC = "http://loinc.org"
LOINC_ODI_SCORE = "97909-6"  # Oswestry disability index score ODI
LOINC_PAIN_NRS = "72514-3"  # Pain severity - 0-10 verbal numeric rating [Score] - Reported
# spinepath's own code system, where no standard code fits (docs/interoperability.md).
SPINEPATH_CODES = "https://spinepath.org/fhir/CodeSystem/spinepath"
# spinepath's extensions, where R4 has no element (docs/interoperability.md).
SPINEPATH_EXTENSIONS = "https://spinepath.org/fhir/StructureDefinition"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
UCUM = "http://unitsofmeasure.org"
MODALITY = {"MRI": "MR", "CT": "CT", "XR": "DX"}
GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}
# Lumbar and lumbosacral codes for the generators that have one (ICD-10-CM).
GENERATOR_CODES = {
    ("discogenic", False): ("M51.36", "Other intervertebral disc degeneration, lumbar region"),
    ("discogenic", True): ("M51.37", "Other intervertebral disc degeneration, lumbosacral region"),
    ("facet", False): ("M47.816", "Spondylosis without myelopathy or radiculopathy, lumbar region"),
    ("facet", True): (
        "M47.817",
        "Spondylosis without myelopathy or radiculopathy, lumbosacral region",
    ),
    ("radicular", False): ("M54.16", "Radiculopathy, lumbar region"),
    ("radicular", True): ("M54.17", "Radiculopathy, lumbosacral region"),
}


def _ref(kind: str, ident: Any) -> dict[str, str]:
    return {"reference": f"{kind}/{ident}"}


def fhir_base() -> str:
    """Where the clinic's FHIR resources live (the API under /fhir/): references such as
    ``Patient/12`` resolve against it, inside a Bundle and outside."""
    return f"{settings.SPINEPATH_BASE_URL}/fhir"


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "fullUrl": f"{fhir_base()}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
    }


def payer_organization(payer: str) -> dict[str, Any]:
    """The payer as an Organization (self-pay has none: the patient pays)."""
    from spinepath.pathway.plans import PAYER_LABELS

    return {
        "resourceType": "Organization",
        "id": f"payer-{payer.replace('_', '-')}",
        "name": PAYER_LABELS.get(payer, payer),
        "type": [{"text": "payer"}],
    }


def coverage(patient: Patient) -> list[dict[str, Any]]:
    """The patient's Coverage, with its payor (required in R4): an Organization for an insurer,
    the patient for self-pay; and that Organization."""
    self_pay = patient.payer == "self_pay"
    organization = None if self_pay else payer_organization(patient.payer)
    resource = {
        "resourceType": "Coverage",
        "id": f"{patient.pk}-coverage",
        "status": "active",
        "type": {"text": patient.get_payer_display()},
        "beneficiary": _ref("Patient", patient.pk),
        "payor": [
            _ref("Patient", patient.pk)
            if organization is None
            else _ref("Organization", organization["id"])
        ],
    }
    return [resource] if organization is None else [resource, organization]


def patient_resource(p: Patient) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(p.pk),
        "identifier": [
            {"system": MRN_SYSTEM, "value": p.mrn},
            *({"system": i.system, "value": i.value} for i in p.identifiers.all()),
        ],
        "name": [{"family": p.family_name, "given": [p.given_name]}],
    }
    if p.birth_date:
        resource["birthDate"] = p.birth_date.isoformat()
    if p.sex:
        resource["gender"] = GENDER[p.sex]
    telecom = [{"system": "email", "value": p.email}] if p.email else []
    telecom += [{"system": "phone", "value": p.phone}] if p.phone else []
    if telecom:
        resource["telecom"] = telecom
    return resource


def _observation(
    ident: str,
    patient_id: int,
    day: Any,
    code: dict[str, Any],
    value: dict[str, Any],
    encounter: Encounter | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "category": [SURVEY],
        "code": code,
        "subject": _ref("Patient", patient_id),
        "effectiveDateTime": day.isoformat(),
        **value,
    }
    if encounter is not None:
        resource["encounter"] = _ref("Encounter", encounter.pk)
    return resource


def _coded(*codings: tuple[str, str, str], text: str) -> dict[str, Any]:
    return {
        "coding": [{"system": system, "code": code, "display": d} for system, code, d in codings],
        "text": text,
    }


def _score(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": code}}


def _answer(table: dict[str, str], code: str) -> dict[str, Any]:
    coding = {"system": SPINEPATH_CODES, "code": code, "display": table.get(code, code)}
    return {"valueCodeableConcept": {"coding": [coding], "text": table.get(code, code)}}


# Every Observation is coded: LOINC where a code exists, the clinic's own CodeSystem beside it
# or alone otherwise (docs/interoperability.md, "Codes").
SURVEY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey",
            "display": "Survey",
        }
    ]
}
PAIN_CODE = _coded(
    (LOINC, LOINC_PAIN_SEVERITY, "Pain severity - Reported"),
    (SPINEPATH_CODES, "pain-vas", "Pain, visual analogue scale 0-100 mm"),
    text="Pain, visual analogue scale 0-100 mm",
)
ODI_CODE = _coded(
    (LOINC, LOINC_ODI_SCORE, "Oswestry disability index score ODI"),
    (SPINEPATH_CODES, "odi", "Oswestry Disability Index v2.1a (0-100)"),
    text="Oswestry Disability Index v2.1a (0-100)",
)
BACK_PAIN_CODE = _coded(
    (LOINC, LOINC_PAIN_NRS, "Pain severity - 0-10 verbal numeric rating [Score] - Reported"),
    (SPINEPATH_CODES, "back-pain-nrs", "Back pain, numeric rating 0-10"),
    text="Back pain, numeric rating 0-10",
)
LEG_PAIN_CODE = _coded(
    (LOINC, LOINC_PAIN_NRS, "Pain severity - 0-10 verbal numeric rating [Score] - Reported"),
    (SPINEPATH_CODES, "leg-pain-nrs", "Leg pain, numeric rating 0-10"),
    text="Leg pain, numeric rating 0-10",
)
WORK_CODE = _coded(
    (SPINEPATH_CODES, "work-status", "Work status (ICHOM low back pain)"),
    text="Work status (ICHOM low back pain)",
)
ANALGESIC_CODE = _coded(
    (SPINEPATH_CODES, "analgesic-use", "Pain medication for back or leg pain (ICHOM)"),
    text="Pain medication for back or leg pain (ICHOM)",
)
OPIOID_CODE = _coded(
    (SPINEPATH_CODES, "opioid-use", "Opioid pain medication for back or leg pain (ICHOM)"),
    text="Opioid pain medication for back or leg pain (ICHOM)",
)
BODY_SITES = {"back": {"text": "Lower back"}, "leg": {"text": "Leg"}}
OBSERVATION_KINDS = ("pain", "odi", "back", "leg", "work", "analgesics", "opioids")


def score_observations(
    prefix: str, answers: Any, day: Any, odi: float | None, encounter: Encounter | None = None
) -> list[dict[str, Any]]:
    """The answered scores of a consultation (the course's baseline) or of a check-in, each an
    Observation with the id ``{prefix}-{kind}`` (kind one of OBSERVATION_KINDS)."""
    pid = answers.patient_id
    found = []

    def add(kind: str, code: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
        resource = _observation(f"{prefix}-{kind}", pid, day, code, value, encounter)
        found.append(resource)
        return resource

    if answers.pain_vas is not None:
        add("pain", PAIN_CODE, _score(answers.pain_vas, "mm", "mm"))
    if odi is not None:
        add("odi", ODI_CODE, _score(round(odi, 1), "score", "{score}"))
    for kind, field, code in (
        ("back", "back_pain_nrs", BACK_PAIN_CODE),
        ("leg", "leg_pain_nrs", LEG_PAIN_CODE),
    ):
        if getattr(answers, field) is not None:
            resource = add(kind, code, _score(getattr(answers, field), "score", "{score}"))
            resource["bodySite"] = BODY_SITES[kind]
    if answers.work_status:
        add("work", WORK_CODE, _answer(WORK_STATUS, answers.work_status))
    if answers.analgesic_use:
        add("analgesics", ANALGESIC_CODE, _answer(ANALGESIC_USE, answers.analgesic_use))
    if answers.opioid_use is not None:
        add("opioids", OPIOID_CODE, {"valueBoolean": answers.opioid_use})
    return found


def patient_bundle(patient: Patient) -> dict[str, Any]:
    """The patient's whole record, one mapper per resource below."""
    resources = patient_resources(patient)
    return {"resourceType": "Bundle", "type": "collection", "entry": [_entry(r) for r in resources]}


def patient_resources(patient: Patient, kind: str | None = None) -> list[dict[str, Any]]:
    """The resources of the patient's record in the bundle's order; with ``kind``, only those
    of that resource type, read from only the records that make them (a search for a
    patient's Observations reads their consultations and check-ins, not their plans)."""
    resources: list[dict[str, Any]] = []
    for kinds, section in _SECTIONS:
        if kind is None or kind in kinds:
            resources.extend(section(patient))
    return resources if kind is None else [r for r in resources if r["resourceType"] == kind]


def _patient_section(patient: Patient) -> list[dict[str, Any]]:
    return [patient_resource(patient), *(coverage(patient) if patient.payer else [])]


def _encounter_section(patient: Patient) -> list[dict[str, Any]]:
    resources = []
    for e in Encounter.objects.filter(patient=patient):
        resources.append(encounter_resource(e))
        resources.extend(baseline_observations(e))
    return resources


def _measurement_section(patient: Patient) -> list[dict[str, Any]]:
    return [
        resource
        for m in OutcomeMeasurement.objects.filter(patient=patient).select_related("visit")
        for resource in measurement_observations(m)
    ]


def _imaging_section(patient: Patient) -> list[dict[str, Any]]:
    studies = ImagingStudy.objects.filter(patient=patient).prefetch_related("levels")
    return [imaging_study_resource(s) for s in studies]


def _procedure_section(patient: Patient) -> list[dict[str, Any]]:
    resources = [
        prior_procedure_resource(p) for p in PriorProcedure.objects.filter(patient=patient)
    ]
    resources += [block_resource(b) for b in DiagnosticBlock.objects.filter(patient=patient)]
    injections = list(
        Procedure.objects.filter(patient=patient).select_related(
            "lot__product", "operator", "time_out_by"
        )
    )
    lots = {p.lot.pk: p.lot for p in injections if p.lot is not None}
    resources += [biologic_product_resource(lot) for lot in lots.values()]
    resources += [injection_resource(p) for p in injections]
    reinterventions = Reintervention.objects.filter(patient=patient).select_related("procedure")
    resources += [reintervention_resource(r) for r in reinterventions]
    return resources


def _adverse_event_section(patient: Patient) -> list[dict[str, Any]]:
    # R4 has no status for an event in error: it leaves the record.
    rows = patient_events(patient, clinic_policy())
    return [adverse_event_resource(row) for row in rows if not row.event.in_error]


def _condition_section(patient: Patient) -> list[dict[str, Any]]:
    signed = CandidacyDecision.objects.filter(patient=patient).order_by("-signed_at").first()
    return condition_resources(signed) if signed is not None else []


def _care_plan_section(patient: Patient) -> list[dict[str, Any]]:
    plans = list(CarePlan.objects.filter(patient=patient).exclude(status=CarePlan.DRAFT))
    if not plans:
        return []
    standing, policy = patient_standing(patient), clinic_policy()
    return [care_plan_resource(plan, standing, policy) for plan in plans]


# The record's sections in the bundle's order, each with the resource types it makes.
_SECTIONS: tuple[tuple[frozenset[str], Callable[[Patient], list[dict[str, Any]]]], ...] = (
    (frozenset({"Patient", "Coverage", "Organization"}), _patient_section),
    (frozenset({"Encounter", "Observation"}), _encounter_section),
    (frozenset({"Observation"}), _measurement_section),
    (frozenset({"ImagingStudy"}), _imaging_section),
    (frozenset({"Procedure", "BiologicallyDerivedProduct"}), _procedure_section),
    (frozenset({"AdverseEvent"}), _adverse_event_section),
    (frozenset({"Condition"}), _condition_section),
    (frozenset({"CarePlan"}), _care_plan_section),
)


def encounter_resource(e: Encounter) -> dict[str, Any]:
    """A consultation as an Encounter."""
    return {
        "resourceType": "Encounter",
        "id": str(e.pk),
        "status": "finished" if e.status == Encounter.FINISHED else "in-progress",
        "class": {"code": "AMB", "display": "ambulatory"},
        "type": [{"text": "Spine consultation"}],
        "subject": _ref("Patient", e.patient_id),
        "period": {"start": e.assessed_on.isoformat()},
    }


def baseline_observations(e: Encounter) -> list[dict[str, Any]]:
    """The scores recorded at a consultation (the baseline of a course) as Observations."""
    odi = odi_score(e.odi_sections, clinic_policy()).score if e.odi_sections else None
    return score_observations(f"enc{e.pk}", e, e.assessed_on, odi, e)


def measurement_observations(m: OutcomeMeasurement) -> list[dict[str, Any]]:
    """A follow-up check-in's answered scores as Observations."""
    return score_observations(f"m{m.pk}", m, m.measured_on, m.odi_score)


def imaging_study_resource(s: ImagingStudy) -> dict[str, Any]:
    """An imaging study with its level findings (prefetch ``levels``); one imported from DICOM
    also carries its study UID, its description and its series as the files gave them."""
    findings = "; ".join(
        f"{f.level}: Pfirrmann {f.pfirrmann}" for f in s.levels.all() if f.pfirrmann
    )
    modality = {"system": DICOM, "code": MODALITY[s.modality]}
    resource: dict[str, Any] = {
        "resourceType": "ImagingStudy",
        "id": str(s.pk),
        "status": "available",
        "subject": _ref("Patient", s.patient_id),
        "started": s.performed_on.isoformat(),
        "modality": [modality],
        "description": s.description or f"Lumbar spine {s.modality}",
        "note": [{"text": findings or "no level findings recorded"}],
    }
    if s.study_uid:
        resource["identifier"] = [{"system": "urn:dicom:uid", "value": f"urn:oid:{s.study_uid}"}]
    series = [one for one in s.series or [] if isinstance(one, dict) and one.get("uid")]
    if series:
        resource["numberOfSeries"] = len(series)
        resource["numberOfInstances"] = sum(int(one.get("instances") or 0) for one in series)
        resource["series"] = [_series(one, s, modality) for one in series]
    return resource


def _series(one: dict[str, Any], study: ImagingStudy, modality: dict[str, str]) -> dict[str, Any]:
    series: dict[str, Any] = {
        "uid": one["uid"],
        "modality": (
            {"system": DICOM, "code": one["modality"]} if one.get("modality") else modality
        ),
    }
    number = str(one.get("number") or "")
    if number.isascii() and number.isdigit():
        series["number"] = int(number)
    if one.get("description"):
        series["description"] = one["description"]
    if one.get("instances"):
        series["numberOfInstances"] = int(one["instances"])
    if study.body_part:
        # The files' Body Part Examined (e.g. LSPINE), in words: no SNOMED CT code is inferred.
        series["bodySite"] = {"display": study.body_part}
    return series


def prior_procedure_resource(p: PriorProcedure) -> dict[str, Any]:
    """An earlier spine procedure the patient reported, as a Procedure."""
    return _procedure(
        f"prior{p.pk}", p.patient_id, p.get_kind_display(), p.performed_on, list(p.levels)
    )


def block_resource(b: DiagnosticBlock) -> dict[str, Any]:
    """A diagnostic block as a Procedure."""
    return _procedure(
        f"block{b.pk}", b.patient_id, b.get_kind_display(), b.performed_on, list(b.levels)
    )


# The category of each kind of product (FHIR R4 product-category).
PRODUCT_CATEGORY = {"prp": "fluid", "exosome": "biologicalAgent"}


def biologic_product_resource(lot: ProductLot) -> dict[str, Any]:
    """A lot of a biologic the clinic injected, as a BiologicallyDerivedProduct: its distinct
    identification code and lot number, what it is, who made or processed it, and its expiry
    (21 CFR 1271.290)."""
    product = lot.product
    return {
        "resourceType": "BiologicallyDerivedProduct",
        "id": f"lot{lot.pk}",
        "identifier": [
            {"system": f"{SPINEPATH_CODES}/product-code", "value": lot.code},
            {"system": f"{SPINEPATH_CODES}/lot-number", "value": lot.lot},
        ],
        "productCategory": PRODUCT_CATEGORY.get(product.kind, "cells"),
        "productCode": {
            "text": f"{product.name} ({product.get_kind_display()}, {product.get_source_display()})"
        },
        "status": "available",
        "processing": [{"description": f"Made or processed by {product.establishment}"}],
        "storage": [
            {
                "description": f"Lot {lot.lot}, use by {lot.expires_on.isoformat()}",
                "duration": {"end": lot.expires_on.isoformat()},
            }
        ],
    }


def injection_resource(p: Procedure) -> dict[str, Any]:
    """An injection the clinic gave, as a Procedure (with the lot it used); a voided one stays
    on the record as an entry made in error."""
    resource = _procedure(
        f"inj{p.pk}",
        p.patient_id,
        f"{p.get_generator_display()} injection, "
        f"{p.get_material_display()}, {p.get_guidance_display()} guidance",
        p.performed_on,
        [p.level] if p.level else [],
        status="entered-in-error" if p.voided_at else "completed",
        code=f"regenerative-injection-{p.generator}",
    )
    if p.lot_id is not None:
        resource["usedReference"] = [_ref("BiologicallyDerivedProduct", f"lot{p.lot_id}")]
    if p.side:
        resource["bodySite"] = [{"text": " ".join(part for part in (p.level, p.side) if part)}]
    resource["performer"] = [
        {"function": {"text": "operator"}, "actor": {"display": _name(p.operator)}}
    ]
    if p.time_out_by is not None:
        resource["performer"].append(
            {"function": {"text": "time-out leader"}, "actor": {"display": _name(p.time_out_by)}}
        )
    extensions = _injection_extensions(p)
    if extensions:
        resource["extension"] = extensions
    return resource


# ICH E2A criteria as FHIR R4 adverse-event-seriousness codes, the gravest first.
SERIOUSNESS = {
    "death": ("SeriousResultsInDeath", "Results in death"),
    "life_threatening": ("SeriousIsLifeThreatening", "Is Life-threatening"),
    "hospitalisation": ("SeriousResultsInHospitalization", "In-patient hospitalization"),
    "disability": ("SeriousResultsInDisability", "Results in persistent or significant disability"),
    "congenital_anomaly": ("SeriousIsBirthDefect", "Is a congenital anomaly/birth defect"),
    "important_medical_event": ("Serious", "Serious"),
}
# The five-point relatedness as WHO-UMC causality (adverse-event-causality-assess); "not
# related" has no code there and is said in words.
CAUSALITY = {
    "definite": "Certain",
    "probable": "Probably-Likely",
    "possible": "Possible",
    "unlikely": "Unlikely",
}
AE_TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"


def reintervention_resource(r: Reintervention) -> dict[str, Any]:
    """A further surgery or injection at a level a regenerative injection treated, recorded by
    staff (the clinic's own later injections are their own Procedures)."""
    resource = _procedure(
        f"reint{r.pk}",
        r.patient_id,
        f"{r.get_kind_display()} at a treated level (re-intervention)",
        r.performed_on,
        [f"{r.level} {r.side}".strip()] if r.level else [],
        status="entered-in-error" if r.in_error else "completed",
        code=f"reintervention-{r.kind}",
    )
    resource["category"] = {"text": "Re-intervention at a level a regenerative injection treated"}
    resource["note"] = [
        {"text": r.description},
        {
            "text": f"{r.get_source_display()}; after the injection of "
            f"{r.procedure.performed_on:%Y-%m-%d} (Procedure/inj{r.procedure_id})."
        },
    ]
    return resource


def _causality(relatedness: str, what: str) -> dict[str, Any]:
    text = f"{RELATEDNESS[relatedness]} to the {what}"
    code = CAUSALITY.get(relatedness)
    assessment: dict[str, Any] = {"text": text}
    if code is not None:
        assessment["coding"] = [
            {"system": f"{AE_TERMINOLOGY}/adverse-event-causality-assess", "code": code}
        ]
    return {"assessment": assessment, "productRelatedness": text}


def adverse_event_resource(row: EventRow) -> dict[str, Any]:
    """An adverse event as FHIR R4 AdverseEvent: the term, onset, the CTCAE grade as severity,
    the ICH E2A seriousness, the outcome, and the injection and product suspected, each with
    its relatedness (PATHWAY.md section 10)."""
    event, v = row.event, row.current
    gravest = next((c for c in SERIOUSNESS if c in v.serious_criteria), None)
    code, display = SERIOUSNESS[gravest] if gravest else ("Non-serious", "Non-serious")
    severity = "mild" if v.grade == 1 else "moderate" if v.grade == 2 else "severe"
    suspects: list[dict[str, Any]] = []
    if event.procedure_id is not None:
        suspects.append(
            {
                "instance": _ref("Procedure", f"inj{event.procedure_id}"),
                "causality": [_causality(v.related_procedure, "procedure")],
            }
        )
        lot_id = event.procedure.lot_id if event.procedure else None
        if lot_id is not None:
            suspects.append(
                {
                    "instance": _ref("BiologicallyDerivedProduct", f"lot{lot_id}"),
                    "causality": [_causality(v.related_product, "product")],
                }
            )
    resource: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "id": f"ae{event.pk}",
        "identifier": {"system": f"{SPINEPATH_CODES}/adverse-event", "value": str(event.pk)},
        "actuality": "actual",
        "event": {"text": v.term},
        "subject": _ref("Patient", event.patient_id),
        "date": v.onset_on.isoformat(),
        "detected": event.aware_on.isoformat(),
        "recordedDate": v.recorded_at.isoformat(),
        "seriousness": {
            "coding": [
                {
                    "system": f"{AE_TERMINOLOGY}/adverse-event-seriousness",
                    "code": code,
                    "display": display,
                }
            ],
            "text": criteria_text(v.serious_criteria),
        },
        "severity": {
            "coding": [{"system": f"{AE_TERMINOLOGY}/adverse-event-severity", "code": severity}],
            "text": CTCAE_GRADES[v.grade],
        },
        "outcome": {
            "coding": [{"system": f"{AE_TERMINOLOGY}/adverse-event-outcome", "code": v.outcome}],
            "text": OUTCOMES[v.outcome],
        },
    }
    if suspects:
        resource["suspectEntity"] = suspects
    return resource


def _name(user: Any) -> str:
    return str(user.get_full_name() or user.username)


def _quantity(value: Any, unit: str) -> dict[str, Any]:
    return {"value": float(value), "unit": unit, "system": UCUM, "code": unit}


def _injection_extensions(p: Procedure) -> list[dict[str, Any]]:
    """What R4's Procedure has no element for (PATHWAY.md section 10): the volume given per
    level, the fluoroscopy time and air kerma, the pre-procedure checks, the IND."""
    found: list[dict[str, Any]] = []
    if p.volume_ml is not None:
        found.append(
            {
                "url": f"{SPINEPATH_EXTENSIONS}/volume-per-level",
                "valueQuantity": _quantity(p.volume_ml, "mL"),
            }
        )
    if p.fluoroscopy_seconds is not None or p.air_kerma_mgy is not None:
        parts = []
        if p.fluoroscopy_seconds is not None:
            parts.append({"url": "time", "valueQuantity": _quantity(p.fluoroscopy_seconds, "s")})
        if p.air_kerma_mgy is not None:
            parts.append({"url": "airKerma", "valueQuantity": _quantity(p.air_kerma_mgy, "mGy")})
        found.append({"url": f"{SPINEPATH_EXTENSIONS}/fluoroscopy", "extension": parts})
    checks = [
        (name, value)
        for name, value in (
            ("consentConfirmed", p.consent_confirmed),
            ("siteMarked", p.site_marked),
            ("timeOutPerformed", p.time_out_done),
        )
        if value is not None
    ]
    if checks:
        found.append(
            {
                "url": f"{SPINEPATH_EXTENSIONS}/pre-procedure-checks",
                "extension": [{"url": name, "valueBoolean": value} for name, value in checks],
            }
        )
    if p.ind_number:
        found.append({"url": f"{SPINEPATH_EXTENSIONS}/ind-number", "valueString": p.ind_number})
    return found


def condition_resources(signed: CandidacyDecision) -> list[dict[str, Any]]:
    """The confirmed pain generators of a signed decision as Conditions (ICD-10-CM where the
    generator has a code)."""
    found = []
    for i, g in enumerate(signed.decision_json.get("generators", [])):
        if g["status"] != "confirmed" or g["generator"] == "post_procedural":
            continue
        code = GENERATOR_CODES.get((g["generator"], g.get("level") == "L5-S1"))
        found.append(
            {
                "resourceType": "Condition",
                "id": f"d{signed.pk}-{i}",
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": (
                    {
                        "coding": [{"system": ICD10CM, "code": code[0], "display": code[1]}],
                        "text": f"{g['generator']} pain {g.get('level') or ''}".strip(),
                    }
                    if code
                    else {"text": f"{g['generator']} pain"}
                ),
                "bodySite": [{"text": g["level"]}] if g.get("level") else [],
                "subject": _ref("Patient", signed.patient_id),
                "recordedDate": localdate(signed.signed_at).isoformat(),
            }
        )
    return found


def care_plan_resource(plan: CarePlan, standing: Standing, policy: Policy) -> dict[str, Any]:
    """A plan offered to the patient as a CarePlan. An accepted plan is active only while the
    decision it rests on stands; otherwise it is on hold (the clinic may not act on it, with
    the gate's reason as a note), or revoked once superseded."""
    gate_plan = standing.plan(plan.pk)
    status = care_plan_status(standing, gate_plan, policy) if gate_plan else "revoked"
    held = plan_refusal(standing, gate_plan, policy) if status == "on-hold" else None
    return {
        "resourceType": "CarePlan",
        "id": str(plan.pk),
        "status": status,
        "intent": "plan",
        "title": f"Treatment plan, version {plan.version}",
        "subject": _ref("Patient", plan.patient_id),
        "created": localdate(plan.created_at).isoformat(),
        "activity": [
            {
                "detail": {
                    "status": "scheduled",
                    "description": line.description,
                    **_planned_product(line, policy),
                }
            }
            for line in plan.lines.all()
        ],
        **({"note": [{"text": held.sentence}]} if held is not None else {}),
    }


def _planned_product(line: PlanLine, policy: Policy) -> dict[str, Any]:
    """The product of an injection line, with its regulatory route and IND number, as the
    activity's product (PATHWAY.md section 10); nothing for other lines or an unstated kind."""
    if line.phase != "inject" or not line.product_kind:
        return {}
    route = regulatory_route(line.product_kind, policy)
    words = [PRODUCT_KINDS[line.product_kind], REGULATORY_ROUTES.get(route or "", "")]
    words += [line.ind_number] if line.ind_number else []
    return {"productCodeableConcept": {"text": "; ".join(w for w in words if w)}}


def _procedure(
    ident: str,
    patient_id: int,
    text: str,
    day: Any,
    levels: list[str],
    status: str = "completed",
    code: str | None = None,
) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": text}
    if code:
        concept["coding"] = [{"system": SPINEPATH_CODES, "code": code, "display": text}]
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": ident,
        "status": status,
        "code": concept,
        "subject": _ref("Patient", patient_id),
        "performedDateTime": day.isoformat(),
    }
    if levels:
        resource["bodySite"] = [{"text": level} for level in levels]
    return resource
