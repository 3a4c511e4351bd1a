"""The clinic's questionnaires as FHIR Questionnaire resources: the ODI in the project's own
wording (pathway/instruments.py) and the pain scale, so an outside app can show them and send
back a QuestionnaireResponse."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from spinepath.pathway.instruments import ODI_SECTIONS
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


def questionnaires() -> dict[str, dict[str, Any]]:
    return {"odi": _odi(), "pain": _pain()}
