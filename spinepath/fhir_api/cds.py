"""CDS Hooks 2.0 services for the clinic's EHR: the candidacy decision when a patient's chart
opens (patient-view), and a check of a spine injection being ordered (order-select)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from spinepath.consultations.selectors import decision_in_force, latest_signed_decision
from spinepath.errors import Invalid
from spinepath.fhir_api import resources
from spinepath.pathway import gates
from spinepath.pathway.decision import DECISION_LABELS
from spinepath.pathway.orders import is_spine_injection, order_target, order_warnings
from spinepath.patients.models import Patient
from spinepath.patients.selectors import charts_identified_by
from spinepath.plans.standing import patient_standing
from spinepath.web.policy import clinic_policy

SERVICES = [
    {
        "hook": "patient-view",
        "id": "spinepath-candidacy",
        "title": "Regenerative spine candidacy",
        "description": "The patient's latest signed candidacy decision at the spine clinic, "
        "with its policy and a link to the review.",
        "prefetch": {"patient": "Patient/{{context.patientId}}"},
    },
    {
        "hook": "order-select",
        "id": "spinepath-injection-check",
        "title": "Spine injection check",
        "description": "Warns when an ordered spine injection has no signed candidate "
        "decision, no recent reviewed MRI, or a target the workup has not confirmed.",
        "prefetch": {"patient": "Patient/{{context.patientId}}"},
    },
]
INDICATORS = {
    "refer_urgent": "critical",
    "refer_surgical": "warning",
    "needs_imaging": "warning",
}
SOURCE = {"label": "spinepath (spine clinic)"}
READ_TIMEOUT = 5  # seconds for the read of the patient from the hook's fhirServer
READ_LIMIT = 1024 * 1024
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
ACCESS_TOKEN = re.compile(r"^[\x21-\x7e]{1,4096}$")  # printable ASCII, no space (RFC 6750)


class HookProblem(Invalid):
    """A hook request that cannot be answered (400, named)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, code="invalid_hook_request")


@dataclass(frozen=True)
class Match:
    """Whom a hook names: one chart, or none with what was tried (and how many charts the
    identifiers named when they named more than one: never a guess)."""

    patient: Patient | None
    tried: tuple[str, ...]
    charts: int = 0


def _identifiers(resource: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    listed = resource.get("identifier") if isinstance(resource, dict) else None
    if not isinstance(listed, list):
        return pairs
    for identifier in listed:
        if not isinstance(identifier, dict):
            continue
        system, value = identifier.get("system"), identifier.get("value")
        if not isinstance(system, str) or not isinstance(value, str):
            continue
        system, value = system.strip(), value.strip()
        # An identifier longer than any kept is nobody's here: never cut to fit one.
        if system and value and len(system) <= 255 and len(value) <= 64:
            pairs.append((system, value))
    return pairs


def _said(pairs: list[tuple[str, str]]) -> str:
    return ", ".join(f"{system}|{value}" for system, value in pairs)


def _by(pairs: list[tuple[str, str]], tried: list[str], how: str) -> Match | None:
    """The one chart the identifiers name (a Match), None when they name none."""
    if not pairs:
        tried.append(f"{how}: no identifier with a system")
        return None
    tried.append(f"{how}: {_said(pairs)}")
    found = charts_identified_by(pairs)
    if len(found) == 1:
        return Match(found[0], tuple(tried))
    if len(found) > 1:
        return Match(None, tuple(tried), charts=len(found))
    return None


def _server_patient(server: str, patient_id: str, authorization: Any) -> dict[str, Any]:
    """The Patient ``patient_id`` as the hook's FHIR server gives it, read with the hook's
    ``fhirAuthorization``; raises HookRead with what went wrong."""
    if not FHIR_ID.match(patient_id):
        raise HookRead("context.patientId is not a FHIR id")
    request = urllib.request.Request(
        f"{server}/Patient/{patient_id}", headers={"Accept": "application/fhir+json"}
    )
    token = authorization.get("access_token") if isinstance(authorization, dict) else None
    if isinstance(token, str) and token:
        if not ACCESS_TOKEN.match(token):
            raise HookRead("fhirAuthorization.access_token is not a bearer token")
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with _NO_REDIRECTS.open(request, timeout=READ_TIMEOUT) as response:
            body = response.read(READ_LIMIT + 1)
    except urllib.error.HTTPError as error:
        raise HookRead(f"it answered {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError):
        raise HookRead("it cannot be reached") from None
    if len(body) > READ_LIMIT:
        raise HookRead("its answer is larger than a Patient")
    try:
        resource = json.loads(body)
    except (ValueError, RecursionError):
        raise HookRead("its answer is not JSON") from None
    if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
        raise HookRead("its answer is not a Patient")
    return resource


class _Stay(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed: the read goes to the listed server's own address and
    nowhere else, and the EHR's token with it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_Stay)


class HookRead(Exception):
    """The patient could not be read from the hook's FHIR server (said in the card)."""


def _readable_servers() -> set[str]:
    return {s.rstrip("/") for s in settings.SPINEPATH_CDS_FHIR_SERVERS if s}


# Whether a token of this server (an API token, or a SMART app's token within its scopes) may
# read this server's Patient/{id}: (access token, id) -> bool. The view answers it.
TokenReads = Callable[[str, str], bool]


def match_patient(hook: dict[str, Any], own_bases: set[str], reads: TokenReads) -> Match:
    """The clinic's patient a hook names, in this order, never guessing:

    1. the prefetched Patient's identifiers (the clinic's record number, or an identifier kept
       on a chart for exactly that system);
    2. otherwise the Patient read from the hook's ``fhirServer`` with its ``fhirAuthorization``:
       this server's own FHIR API (``own_bases``; the id is then this server's, and the
       authorization must be a token of this server that may read it: ``reads``), or a server
       the clinic reads from (``SPINEPATH_CDS_FHIR_SERVERS``), matched by its identifiers;
    3. otherwise the EHR's patient id, kept on a chart under the ``fhirServer`` address or the
       clinic's configured system for its EHR (``SPINEPATH_EHR_PATIENT_ID_SYSTEM``).

    A bare id from another system is never looked up as this server's own id. Several charts
    answer as none, with their number."""
    context = hook.get("context") or {}
    if not isinstance(context, dict):
        raise HookProblem("context: an object")
    prefetch = hook.get("prefetch") or {}
    if not isinstance(prefetch, dict):
        raise HookProblem("prefetch: an object")
    patient_id = context.get("patientId")
    patient_id = patient_id.strip() if isinstance(patient_id, str) else ""
    server = hook.get("fhirServer")
    server = server.strip().rstrip("/") if isinstance(server, str) else ""
    tried: list[str] = []
    if server and not server.lower().startswith(("https://", "http://")):
        tried.append(f"fhirServer {server[:80]!r}: not an http(s) address, not used")
        server = ""
    prefetched = prefetch.get("patient")
    if not patient_id and not isinstance(prefetched, dict):
        raise HookProblem("context.patientId: which patient")
    if isinstance(prefetched, dict) and prefetched.get("resourceType") == "Patient":
        found = _by(_identifiers(prefetched), tried, "the prefetched Patient's identifiers")
        if found is not None:
            return found
    elif server and patient_id:
        authorization = hook.get("fhirAuthorization")
        found = _read_from(server, patient_id, authorization, own_bases, reads, tried)
        if found is not None:
            return found
    systems = [server] if server and server not in own_bases else []
    if settings.SPINEPATH_EHR_PATIENT_ID_SYSTEM:
        systems.append(settings.SPINEPATH_EHR_PATIENT_ID_SYSTEM.rstrip("/"))
    if len(patient_id) > 64:
        tried.append("context.patientId: longer than any identifier kept here, not looked up")
    elif patient_id and systems:
        found = _by(
            [(system, patient_id) for system in dict.fromkeys(systems)],
            tried,
            "the EHR's patient id as kept on a chart",
        )
        if found is not None:
            return found
    elif patient_id:
        tried.append(
            f"context.patientId {patient_id[:64]}: not looked up (no fhirServer, and no "
            "system set up for the EHR's patient ids)"
        )
    return Match(None, tuple(tried))


def _read_from(
    server: str,
    patient_id: str,
    authorization: Any,
    own_bases: set[str],
    reads: TokenReads,
    tried: list[str],
) -> Match | None:
    if server in own_bases:
        # This server's own API: the id is this server's, read here with the token given.
        token = authorization.get("access_token") if isinstance(authorization, dict) else None
        if not isinstance(token, str) or not ACCESS_TOKEN.match(token):
            token = None
        if not (patient_id.isascii() and patient_id.isdigit() and len(patient_id) < 12) or (
            patient_id != str(int(patient_id))
        ):
            tried.append(f"Patient/{patient_id[:64]}: not an id of this server")
            return None
        if token is None or not reads(token, patient_id):
            tried.append(
                f"Patient/{patient_id[:64]} of this server: not read (fhirAuthorization is not "
                "a live token of this server that may read it)"
            )
            return None
        _, patient = resources.read("Patient", patient_id)
        tried.append(f"Patient/{patient_id} of this server")
        return Match(patient, tuple(tried)) if patient is not None else None
    if server not in _readable_servers():
        tried.append(
            f"{server}: not read (not a FHIR server the clinic reads from; "
            "SPINEPATH_CDS_FHIR_SERVERS)"
        )
        return None
    try:
        resource = _server_patient(server, patient_id, authorization)
    except HookRead as problem:
        tried.append(f"{server}/Patient/{patient_id[:64]}: not read ({problem})")
        return None
    return _by(_identifiers(resource), tried, f"the identifiers of {server}/Patient/{patient_id}")


def _review_link(base: str, decision_id: int) -> dict[str, str]:
    return {
        "label": "Open the candidacy review in spinepath",
        "url": f"{base}/decisions/{decision_id}/",
        "type": "absolute",
    }


def unmatched_card(match: Match) -> dict[str, Any]:
    """The one card of a call that names no single chart: which identifiers were tried, or
    that they name several charts (nothing shown rather than another patient's record)."""
    tried = "\n".join(f"- {line}" for line in match.tried) or "- nothing to look up"
    if match.charts > 1:
        return {
            "summary": f"Spine clinic: this patient matches {match.charts} charts; nothing shown",
            "indicator": "warning",
            "detail": "The identifiers match more than one chart at the spine clinic, so "
            "nothing is shown rather than another patient's record. Ask the clinic to "
            f"correct the charts' identifiers.\n\nTried:\n{tried}",
            "source": SOURCE,
        }
    return {
        "summary": "Spine clinic: no chart matches this patient",
        "indicator": "info",
        "detail": "The spine clinic has no chart this patient's identifiers name, so it has "
        "no candidacy decision to show. If the patient is the clinic's, the clinic can add "
        f"the EHR's patient id to the chart.\n\nTried:\n{tried}",
        "source": SOURCE,
    }


def patient_view(hook: dict[str, Any], match: Match, base: str) -> list[dict[str, Any]]:
    patient = match.patient
    if patient is None:
        return [unmatched_card(match)]
    signed = latest_signed_decision(patient)
    if signed is None:
        return [
            {
                "summary": "Spine clinic: no candidacy decision yet",
                "indicator": "info",
                "detail": "The patient has a chart at the spine clinic, but no signed "
                "candidacy decision.",
                "source": SOURCE,
            }
        ]
    d = signed.decision_json
    label = DECISION_LABELS.get(d["decision"], "a decision")
    summary = f"Spine clinic: {label} (signed {signed.signed_at:%Y-%m-%d})"
    cards = []
    warning = gates.warning_standing(patient_standing(patient), clinic_policy())
    if warning is not None:
        # A warning recorded since the signed decision comes first: the EHR sees it at once.
        cards.append(
            {
                "summary": "Spine clinic: new warning signs recorded, not yet signed"[:140],
                "indicator": "critical",
                "detail": warning.sentence,
                "source": SOURCE,
            }
        )
    return [
        *cards,
        {
            "summary": summary[:140],
            "indicator": INDICATORS.get(d["decision"], "info"),
            "detail": d.get("summary", ""),
            "source": {
                "label": f"{signed.policy_name} {signed.policy_version}",
                "topic": {"display": "Regenerative spine candidacy"},
            },
            "links": [_review_link(base, signed.pk)],
        },
    ]


def _orders(hook: dict[str, Any]) -> list[dict[str, Any]]:
    context = hook.get("context") or {}
    bundle = context.get("draftOrders") or {}
    if not isinstance(bundle, dict):
        raise HookProblem("context.draftOrders: a Bundle")
    raw = context.get("selections") or []
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise HookProblem("context.selections: a list of references")
    selections = set(raw)
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise HookProblem("context.draftOrders.entry: a list")
    orders = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("resource") or {}, dict):
            raise HookProblem("context.draftOrders.entry: Bundle entries")
        resource = entry.get("resource") or {}
        if resource.get("resourceType") != "ServiceRequest":
            continue
        ref = f"ServiceRequest/{resource.get('id', '')}"
        if selections and ref not in selections:
            continue
        orders.append(resource)
    return orders


def _text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    codings = concept.get("coding")
    parts = [concept.get("text") or ""]
    if isinstance(codings, list):
        parts += [c.get("display") or "" for c in codings if isinstance(c, dict)]
    return " ".join(p for p in parts if isinstance(p, str))


def order_select(hook: dict[str, Any], match: Match, base: str) -> list[dict[str, Any]]:
    """A warning card for each selected spine injection with a problem; a call that names no
    single chart warns on its spine injections only (other orders are none of the clinic's)."""
    patient = match.patient
    cards = []
    for order in _orders(hook):
        text = _text(order.get("code"))
        if not is_spine_injection(text):
            continue
        body_sites = order.get("bodySite") or []
        sites = [_text(site) for site in body_sites] if isinstance(body_sites, list) else []
        generator, level = order_target(text, sites)
        if patient is None:
            unmatched = unmatched_card(match)
            warnings = [
                "The spine clinic has no single chart of this patient, so no candidacy review "
                "stands behind this injection.",
                unmatched["detail"],
            ]
            decision, refused = None, None
        else:
            standing = patient_standing(patient)
            decision = decision_in_force(patient, standing).signed
            signature = gates.decision_in_force(standing).signature
            refused = gates.prices_refusal(standing, clinic_policy())
            warnings = order_warnings(
                gate_problem=refused.sentence if refused is not None else None,
                targets=signature.targets if signature is not None else frozenset(),
                generator=generator,
                level=level,
            )
        if not warnings:
            continue
        first = warnings[0]
        short = first if len(first) <= 120 else first[: first.rfind(" ", 0, 117)] + " ..."
        critical = refused is not None and refused.code == "warning_in_newer_consultation"
        card: dict[str, Any] = {
            "summary": f"Spine injection: {short}"[:140],
            "indicator": "critical" if critical else "warning",
            "detail": "\n".join(f"- {w}" for w in warnings),
            "source": SOURCE,
        }
        if decision is not None:
            card["links"] = [_review_link(base, decision.pk)]
        cards.append(card)
    return cards


HOOKS = {"spinepath-candidacy": patient_view, "spinepath-injection-check": order_select}
