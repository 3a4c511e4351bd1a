from django.urls import path, re_path

from spinepath.fhir_api import views

app_name = "fhir"
urlpatterns = [
    path("api-tokens/", views.tokens_page, name="tokens"),
    path("api-tokens/<int:token_id>/revoke/", views.token_revoke_view, name="revoke"),
    path("cds-services", views.cds_discovery, name="cds_discovery"),
    path("cds-services/<str:service>", views.cds_service, name="cds_service"),
    path("fhir/metadata", views.metadata, name="metadata"),
    path("fhir/Patient/<str:ident>/$everything", views.everything, name="everything"),
    path("fhir/<str:kind>/<str:ident>", views.read, name="read"),
    path("fhir/<str:kind>", views.search, name="search"),
    re_path(r"^fhir/?(?P<rest>.*)$", views.unknown, name="unknown"),
]
