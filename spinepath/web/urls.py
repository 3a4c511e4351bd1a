from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path

urlpatterns = [
    path("staff/", lambda request: redirect("patients:list"), name="home"),
    path("accounts/", include("spinepath.accounts.urls")),
    path("patients/", include("spinepath.patients.urls")),
    path("audit/", include("spinepath.audit.urls")),
    path("", include("spinepath.consultations.urls")),
    path("", include("spinepath.plans.urls")),
    path("", include("spinepath.followup.urls")),
    path("", include("spinepath.public.urls")),
    path("outcomes/", include("spinepath.outcomes.urls")),
    path("admin/", admin.site.urls),
]
