from django.shortcuts import redirect
from django.urls import include, path

# There is no Django admin: staff accounts and roles are managed on the clinic admin's Staff
# page, prices on the Prices page, and clinical facts only through the pages that check who
# may state them (docs/security.md).
urlpatterns = [
    path("staff/", lambda request: redirect("patients:list"), name="home"),
    path("accounts/", include("spinepath.accounts.urls")),
    path("patients/", include("spinepath.patients.urls")),
    path("patients/", include("spinepath.records.urls")),
    path("audit/", include("spinepath.records.audit_urls")),
    path("", include("spinepath.consultations.urls")),
    path("", include("spinepath.plans.urls")),
    path("", include("spinepath.safety.urls")),
    path("", include("spinepath.followup.urls")),
    path("", include("spinepath.public.urls")),
    path("", include("spinepath.portal.urls")),
    path("", include("spinepath.fhir_api.urls")),
    path("outcomes/", include("spinepath.outcomes.urls")),
]
