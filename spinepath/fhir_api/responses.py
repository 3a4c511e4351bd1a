"""QuestionnaireResponses: a stored check-in as one, and one from an outside app stored as a
check-in - scored by the domain instruments and held to the same window rules as the web form
(it goes through the same single-use link and submission service)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.errors import Conflict, Invalid, NotAllowed, NotAvailable
from spinepath.fhir_api.questionnaires import LBP_LINK_IDS, SPINEPATH_CODES, questionnaires
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
from spinepath.followup.services import (
    Answers,
    LinkProblem,
    link_problem,
    questionnaire_link_create,
    questionnaire_submit,
)
from spinepath.pathway.ichom import ANALGESIC_USE, NRS_MAX, NRS_MIN, WORK_STATUS, LbpAnswers
from spinepath.pathway.instruments import ODI_SECTIONS
from spinepath.pathway.safety import SAFETY_QUESTIONS
from spinepath.patients.models import Patient
from spinepath.safety.models import SafetyReport

VISIT_SYSTEM = "urn:spinepath:visit"
LBP_FIELD_OF = {link: field for field, link in LBP_LINK_IDS.items()}


def _number(text: str | None) -> int | None:
    """A plain ASCII whole number (never a superscript digit), or None."""
    if text and text.isascii() and text.isdecimal() and len(text) < 12:
        return int(text)
    return None


def response_resource(m: OutcomeMeasurement) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    if m.pain_raw is not None or m.pain_vas is not None:
        value = m.pain_vas if m.pain_vas is not None else m.pain_raw
        items.append({"linkId": "pain", "answer": [{"valueInteger": round(float(value or 0))}]})
    items.extend(_lbp_items(m))
    for i, score in enumerate(m.odi_sections or [], start=1):
        if score is None:
            continue
        items.append(
            {
                "linkId": f"odi-{i}",
                "answer": [
                    {
                        "valueCoding": {
                            "system": SPINEPATH_CODES,
                            "code": str(score),
                            "display": ODI_SECTIONS[i - 1].options[score],
                        }
                    }
                ],
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": f"m{m.pk}",
        "questionnaire": questionnaires()["odi" if m.odi_sections else "pain"]["url"],
        "status": "completed",
        "subject": {"reference": f"Patient/{m.patient_id}"},
        "authored": m.measured_on.isoformat(),
        "item": items,
    }
    if m.visit_id:
        resource["identifier"] = {"system": VISIT_SYSTEM, "value": str(m.visit_id)}
    return resource


def safety_response_resource(report: SafetyReport) -> dict[str, Any]:
    """A patient's answers to the safety questions as a QuestionnaireResponse (id ``s{id}``)."""
    items: list[dict[str, Any]] = [
        {"linkId": q.key, "text": q.question, "answer": [{"valueBoolean": report.answers[q.key]}]}
        for q in SAFETY_QUESTIONS
        if isinstance(report.answers.get(q.key), bool)
    ]
    if report.details.strip():
        items.append({"linkId": "details", "answer": [{"valueString": report.details.strip()}]})
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": f"s{report.pk}",
        "questionnaire": questionnaires()["safety"]["url"],
        "status": "completed",
        "subject": {"reference": f"Patient/{report.patient_id}"},
        "authored": report.answered_on.isoformat(),
        "source": {"display": report.get_source_display()},
        "item": items,
    }
    return resource


def _lbp_items(m: OutcomeMeasurement) -> list[dict[str, Any]]:
    """The ICHOM low back pain answers of a measurement, as the lbp questionnaire's items."""
    items: list[dict[str, Any]] = []
    for field in ("back_pain_nrs", "leg_pain_nrs"):
        if getattr(m, field) is not None:
            items.append(
                {"linkId": LBP_LINK_IDS[field], "answer": [{"valueInteger": getattr(m, field)}]}
            )
    for field, table in (("work_status", WORK_STATUS), ("analgesic_use", ANALGESIC_USE)):
        code = getattr(m, field)
        if code:
            coding = {"system": SPINEPATH_CODES, "code": code, "display": table.get(code, code)}
            items.append({"linkId": LBP_LINK_IDS[field], "answer": [{"valueCoding": coding}]})
    if m.opioid_use is not None:
        items.append(
            {"linkId": LBP_LINK_IDS["opioid_use"], "answer": [{"valueBoolean": m.opioid_use}]}
        )
    return items


def _lbp_answer(link: str, answer: Any, found: dict[str, Any]) -> bool:
    """Read one answer of the lbp questionnaire into ``found`` (by field); False when ``link``
    is not one of its questions. A value of the wrong kind is refused, named by its item."""
    field = LBP_FIELD_OF.get(link)
    if field is None:
        return False
    if field in ("back_pain_nrs", "leg_pain_nrs"):
        value = answer.valueInteger
        if value is None or not NRS_MIN <= value <= NRS_MAX:
            raise Invalid(f"item {link}: an integer from 0 to 10", fields={field: "0-10"})
        found[field] = value
    elif field == "opioid_use":
        if answer.valueBoolean is None:
            raise Invalid(f"item {link}: a boolean", fields={field: "true or false"})
        found[field] = answer.valueBoolean
    else:
        table = WORK_STATUS if field == "work_status" else ANALGESIC_USE
        code = answer.valueCoding.code if answer.valueCoding is not None else None
        if code not in table:
            raise Invalid(
                f"item {link}: a coding with one of the codes {', '.join(table)}",
                fields={field: "one of the listed codes"},
            )
        found[field] = code
    return True


def _answers(items: list[Any]) -> Answers:
    pain: float | None = None
    odi: list[int | None] = [None] * len(ODI_SECTIONS)
    lbp: dict[str, Any] = {}
    for item in items:
        link = item.linkId
        answer = (item.answer or [None])[0]
        if answer is None:
            continue
        if _lbp_answer(link, answer, lbp):
            continue
        if link == "pain":
            if answer.valueInteger is None or not 0 <= answer.valueInteger <= 100:
                raise Invalid("item pain: an integer from 0 to 100", fields={"pain": "0-100"})
            pain = float(answer.valueInteger)
        elif (
            link.startswith("odi-")
            and _number(link[4:]) is not None
            and 1 <= int(link[4:]) <= len(odi)
        ):
            coding = answer.valueCoding
            code = coding.code if coding is not None else None
            if code is None or _number(code) is None or not 0 <= int(code) <= 5:
                raise Invalid(f"item {link}: a coding with code 0 to 5")
            odi[int(link[4:]) - 1] = int(code)
        else:
            raise Invalid(
                f"item {link}: not a question of the pain, ODI or low back pain questionnaire"
            )
    if pain is None and all(v is None for v in odi):
        raise Invalid("item: answer the pain question or the ODI sections")
    return Answers(pain, "vas", odi, lbp=LbpAnswers(**lbp) if lbp else None)


def _visit(patient: Patient, identifier: Any, today: date) -> ReassessmentVisit:
    if identifier is not None and identifier.system == VISIT_SYSTEM:
        pk = identifier.value or ""
        number = _number(pk)
        visit = (
            ReassessmentVisit.objects.filter(pk=number).select_related("patient").first()
            if number is not None
            else None
        )
        if visit is None:
            raise NotAvailable(f"identifier: there is no visit {pk[:20]}")
        if visit.patient_id != patient.pk:
            raise Conflict("identifier: that visit is another patient's, not the subject's")
        return visit
    open_now = [
        v
        for v in ReassessmentVisit.objects.filter(
            patient=patient, opens__lte=today, closes__gte=today, injected_on__isnull=False
        ).order_by("due")
        if link_problem(v, today) is None
    ]
    if not open_now:
        raise Conflict("subject: the patient has no check-in window open today")
    return open_now[0]


@action(None)
def response_store(*, actor: Actor, document: dict[str, Any]) -> OutcomeMeasurement:
    """Store a QuestionnaireResponse (already valid R4) as the check-in it answers: an app
    through the FHIR API, with a token granted write (the API checks it before the write).
    Nothing stays behind from a refusal (the link it makes is part of the one write)."""
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    if actor.channel != "api":
        raise NotAllowed("Questionnaire responses arrive through the FHIR API.", code="not_api")

    response = QuestionnaireResponse.model_validate(document)
    if response.status != "completed":
        raise Invalid("status: only a completed response is stored")
    reference = (response.subject.reference if response.subject else "") or ""
    pk = reference.removeprefix("Patient/")
    number = _number(pk)
    patient = Patient.objects.filter(pk=number).first() if number is not None else None
    if patient is None:
        raise Invalid("subject: a reference to one of the clinic's patients, e.g. Patient/12")
    answers = _answers(list(response.item or []))
    visit = _visit(patient, response.identifier, timezone.localdate())
    try:
        token = questionnaire_link_create(actor=actor, visit=visit)
        return questionnaire_submit(actor=actor, token=token, answers=answers)
    except LinkProblem as problem:
        raise Conflict(str(problem)) from None
