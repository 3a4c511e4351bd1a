from django.urls import path

from spinepath.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_new, name="new"),
    path("<int:patient_id>/edit/", views.patient_edit, name="edit"),
    path("<int:patient_id>/identifiers/", views.identifiers, name="identifiers"),
    path(
        "<int:patient_id>/identifiers/<int:identifier_id>/remove/",
        views.identifier_remove,
        name="identifier_remove",
    ),
    path("<int:patient_id>/contact/confirm/", views.contact_confirm, name="contact_confirm"),
]
