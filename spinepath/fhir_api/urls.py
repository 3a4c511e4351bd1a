from django.urls import path, re_path

from spinepath.fhir_api import views
from spinepath.fhir_api.smart import views as smart

app_name = "fhir"
urlpatterns = [
    path("api-tokens/", views.tokens_page, name="tokens"),
    path("api-tokens/<int:token_id>/revoke/", views.token_revoke_view, name="revoke"),
    path("cds-services", views.cds_discovery, name="cds_discovery"),
    path("cds-services/<str:service>", views.cds_service, name="cds_service"),
    # SMART App Launch and Backend Services (docs/interoperability.md, "SMART on FHIR").
    path("fhir/.well-known/smart-configuration", smart.configuration, name="smart_configuration"),
    path(".well-known/smart-configuration", smart.configuration, name="smart_configuration_root"),
    path("smart/authorize", smart.authorize, name="smart_authorize"),
    path("smart/token", smart.token, name="smart_token"),
    path("smart/revoke", smart.revoke, name="smart_revoke"),
    path("smart-apps/", smart.apps_page, name="smart_apps"),
    path("smart-apps/<int:app_id>/revoke/", smart.app_revoke, name="smart_app_revoke"),
    path("patients/<int:patient_id>/smart-launch/", smart.launch, name="smart_launch"),
    path("fhir/metadata", views.metadata, name="metadata"),
    path("fhir/Patient/<str:ident>/$everything", views.everything, name="everything"),
    path("fhir/<str:kind>/<str:ident>", views.read, name="read"),
    path("fhir/<str:kind>", views.search, name="search"),
    re_path(r"^fhir/?(?P<rest>.*)$", views.unknown, name="unknown"),
]
