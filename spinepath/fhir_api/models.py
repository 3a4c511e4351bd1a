"""Bearer tokens for the FHIR API, issued by the clinic admin. Only a token's SHA-256 is kept."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)  # the first characters, to tell tokens apart
    can_write = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# --- SMART on FHIR (spinepath/fhir_api/smart) ------------------------------------------------


class SmartApp(models.Model):
    """An app the clinic admin registered for SMART App Launch or Backend Services: its OAuth
    client (django-oauth-toolkit's Application: client id, hashed secret, redirect URIs, grant)
    and what SMART adds - the launch URL, the scopes it may ask, a backend service's keys."""

    PUBLIC = "public"
    CONFIDENTIAL = "confidential"
    BACKEND = "backend"
    KINDS = [
        (PUBLIC, "Public app (in a browser or on a phone): PKCE, no secret"),
        (CONFIDENTIAL, "Confidential app (runs on a server): a client secret"),
        (BACKEND, "Backend service (no one signed in): a JWT signed with its key"),
    ]

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=KINDS)
    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.PROTECT, related_name="smart"
    )
    launch_url = models.URLField(max_length=500, blank=True)
    scopes = models.TextField()  # the scopes it may ask for, space-separated
    # The public keys (a JWK Set) of a backend service, or of a confidential app that signs
    # its client assertions instead of holding a secret.
    jwks = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LaunchContext(models.Model):
    """What an app was opened for: the patient, the consultation, the staff member. An EHR
    launch from the chart makes one (single use, minutes long: ``launch_hash``, the SHA-256 of
    the opaque ``launch`` value); an authorization without it makes one when approved. The
    grant (authorization code) and then the access token of each refresh point back at it."""

    app = models.ForeignKey(SmartApp, on_delete=models.CASCADE, related_name="contexts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        settings.SPINEPATH_PATIENT_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    encounter = models.ForeignKey(
        "consultations.Encounter", null=True, on_delete=models.PROTECT, related_name="+"
    )
    launch_hash = models.CharField(max_length=64, unique=True, null=True)
    expires_at = models.DateTimeField(null=True)
    used_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    grant = models.OneToOneField(
        settings.OAUTH2_PROVIDER_GRANT_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="smart_context",
    )
    access_token = models.OneToOneField(
        settings.OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="smart_context",
    )


class ClientAssertion(models.Model):
    """A backend service's signed JWT (its ``jti``), kept until it expires: each is used once."""

    app = models.ForeignKey(SmartApp, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "jti"], name="client_assertion_used_once")
        ]
