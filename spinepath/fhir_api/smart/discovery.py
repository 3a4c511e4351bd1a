"""How an app finds the authorization server: ``/.well-known/smart-configuration`` under the
FHIR base (and at the site's root), and the CapabilityStatement's ``rest.security``."""

from __future__ import annotations

from typing import Any

from django.conf import settings

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SECURITY_SERVICES = "http://terminology.hl7.org/CodeSystem/restful-security-service"
CAPABILITIES = [
    "launch-ehr",
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
    "permission-patient",
    "permission-user",
    "permission-offline",
    "permission-online",
    "permission-v1",
    "permission-v2",
]
SCOPES_SUPPORTED = [
    "launch",
    "launch/patient",
    "offline_access",
    "online_access",
    "patient/*.rs",
    "patient/*.read",
    "patient/QuestionnaireResponse.c",
    "user/*.rs",
    "user/*.read",
    "system/*.rs",
    "system/*.read",
]


def endpoints() -> dict[str, str]:
    site = settings.SPINEPATH_BASE_URL
    return {
        "authorize": f"{site}/smart/authorize",
        "token": f"{site}/smart/token",
        "revoke": f"{site}/smart/revoke",
    }


def smart_configuration() -> dict[str, Any]:
    """SMART App Launch 2.0's configuration document (section "SMART on FHIR Well-Known")."""
    uris = endpoints()
    return {
        "authorization_endpoint": uris["authorize"],
        "token_endpoint": uris["token"],
        "revocation_endpoint": uris["revoke"],
        "token_endpoint_auth_methods_supported": [
            "none",
            "client_secret_basic",
            "private_key_jwt",
        ],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": CAPABILITIES,
    }


def smart_security(base: str) -> dict[str, Any]:
    """The CapabilityStatement's ``rest.security``: SMART-on-FHIR, with its OAuth addresses."""
    uris = endpoints()
    return {
        "extension": [
            {
                "url": OAUTH_URIS,
                "extension": [{"url": name, "valueUri": uri} for name, uri in uris.items()],
            }
        ],
        "service": [
            {
                "coding": [{"system": SECURITY_SERVICES, "code": "SMART-on-FHIR"}],
                "text": "SMART App Launch 2.0 and SMART Backend Services",
            }
        ],
        "description": "Bearer tokens: the API tokens the clinic admin issues (read-only unless "
        "granted write), or OAuth 2.0 access tokens of registered SMART apps (SMART App Launch "
        f"and Backend Services; see {base}/.well-known/smart-configuration).",
    }
