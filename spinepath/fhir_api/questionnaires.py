"""The clinic's questionnaires as FHIR Questionnaire resources: the ODI in the project's own
wording (pathway/instruments.py), the pain scale and the ICHOM low back pain questions
(pathway/ichom.py), so an outside app can show them and send back a QuestionnaireResponse."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from spinepath.pathway.ichom import ANALGESIC_USE, LBP_QUESTIONS, NRS_HELP, WORK_STATUS
from spinepath.pathway.instruments import ODI_SECTIONS
from spinepath.pathway.safety import SAFETY_QUESTIONS
from spinepath.records.fhir import LOINC, SPINEPATH_CODES


def _url(ident: str) -> str:
    return f"{settings.SPINEPATH_BASE_URL}/fhir/Questionnaire/{ident}"


def _odi() -> dict[str, Any]:
    return {
        "resourceType": "Questionnaire",
        "id": "odi",
        "url": _url("odi"),
        "version": "2.1a-spinepath",
        "name": "OswestryDisabilityIndex",
        "title": "Daily activities with back pain (Oswestry Disability Index, plain wording)",
        "status": "active",
        "subjectType": ["Patient"],
        "code": [
            {"system": SPINEPATH_CODES, "code": "odi", "display": "Oswestry Disability Index"}
        ],
        "item": [
            {
                "linkId": f"odi-{i}",
                "text": f"{section.title}: {section.question}",
                "type": "choice",
                "required": False,
                "answerOption": [
                    {
                        "valueCoding": {
                            "system": SPINEPATH_CODES,
                            "code": str(score),
                            "display": text,
                        }
                    }
                    for score, text in enumerate(section.options)
                ],
            }
            for i, section in enumerate(ODI_SECTIONS, start=1)
        ],
    }


def _pain() -> dict[str, Any]:
    return {
        "resourceType": "Questionnaire",
        "id": "pain",
        "url": _url("pain"),
        "version": "1",
        "name": "PainIntensity",
        "title": "Pain today (0 = no pain, 100 = worst imaginable)",
        "status": "active",
        "subjectType": ["Patient"],
        "code": [{"system": LOINC, "code": "38208-5", "display": "Pain severity - Reported"}],
        "item": [
            {
                "linkId": "pain",
                "text": "How bad is your back pain today, from 0 (none) to 100 (worst imaginable)?",
                "type": "integer",
                "required": True,
            }
        ],
    }


# The linkId of each ICHOM low back pain question, by the field it fills.
LBP_LINK_IDS = {
    "back_pain_nrs": "back-pain",
    "leg_pain_nrs": "leg-pain",
    "work_status": "work-status",
    "analgesic_use": "analgesics",
    "opioid_use": "opioids",
}


def _choice(table: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"valueCoding": {"system": SPINEPATH_CODES, "code": code, "display": text}}
        for code, text in table.items()
    ]


def _lbp() -> dict[str, Any]:
    """Back and leg pain (0-10), work status, pain medication and opioids: optional here (an
    app may not ask them), each checked when sent; the patient's own page asks every one."""
    nrs = {"type": "integer", "required": False}
    return {
        "resourceType": "Questionnaire",
        "id": "lbp",
        "url": _url("lbp"),
        "version": "1",
        "name": "IchomLowBackPain",
        "title": "Back and leg pain, work and pain medication (ICHOM low back pain set)",
        "status": "active",
        "subjectType": ["Patient"],
        "code": [
            {
                "system": SPINEPATH_CODES,
                "code": "ichom-lbp",
                "display": "ICHOM low back pain measures",
            }
        ],
        "item": [
            {
                "linkId": LBP_LINK_IDS["back_pain_nrs"],
                "text": f"{LBP_QUESTIONS['back_pain_nrs']} ({NRS_HELP})",
                **nrs,
            },
            {
                "linkId": LBP_LINK_IDS["leg_pain_nrs"],
                "text": f"{LBP_QUESTIONS['leg_pain_nrs']} ({NRS_HELP})",
                **nrs,
            },
            {
                "linkId": LBP_LINK_IDS["work_status"],
                "text": LBP_QUESTIONS["work_status"],
                "type": "choice",
                "required": False,
                "answerOption": _choice(WORK_STATUS),
            },
            {
                "linkId": LBP_LINK_IDS["analgesic_use"],
                "text": LBP_QUESTIONS["analgesic_use"],
                "type": "choice",
                "required": False,
                "answerOption": _choice(ANALGESIC_USE),
            },
            {
                "linkId": LBP_LINK_IDS["opioid_use"],
                "text": LBP_QUESTIONS["opioid_use"],
                "type": "boolean",
                "required": False,
            },
        ],
    }


def _safety() -> dict[str, Any]:
    """The safety questions after an injection (PATHWAY.md section 10), as patients read them;
    read-only here: the answers come from the clinic's own pages and forms."""
    return {
        "resourceType": "Questionnaire",
        "id": "safety",
        "url": _url("safety"),
        "version": "1",
        "name": "SafetyAfterInjection",
        "title": "Since your injection (safety questions)",
        "status": "active",
        "subjectType": ["Patient"],
        "code": [
            {
                "system": SPINEPATH_CODES,
                "code": "safety-questions",
                "display": "Safety questions after a spine injection",
            }
        ],
        "item": [
            *(
                {"linkId": q.key, "text": q.question, "type": "boolean", "required": True}
                for q in SAFETY_QUESTIONS
            ),
            {
                "linkId": "details",
                "text": "Anything else you want the clinic to know?",
                "type": "text",
                "required": False,
            },
        ],
    }


def questionnaires() -> dict[str, dict[str, Any]]:
    return {"odi": _odi(), "pain": _pain(), "lbp": _lbp(), "safety": _safety()}
