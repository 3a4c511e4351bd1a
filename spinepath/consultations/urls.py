from django.urls import path

from spinepath.consultations import views

app_name = "consultations"
urlpatterns = [
    path("patients/<int:patient_id>/consultations/new/", views.encounter_new, name="new"),
    path("consultations/<int:encounter_id>/history/", views.history, name="history"),
    path("consultations/<int:encounter_id>/exam/", views.exam, name="exam"),
    path("consultations/<int:encounter_id>/imaging/", views.imaging, name="imaging"),
    path("consultations/<int:encounter_id>/imaging/<int:study_id>/", views.study, name="study"),
    path("consultations/<int:encounter_id>/imaging/dicom/", views.imaging_dicom, name="dicom"),
    path("consultations/<int:encounter_id>/imaging/pacs/", views.imaging_pacs, name="pacs"),
    path("consultations/<int:encounter_id>/review/", views.review, name="review"),
    path("consultations/<int:encounter_id>/sign/", views.sign, name="sign"),
    path("consultations/<int:encounter_id>/amend/", views.amend, name="amend"),
    path("consultations/<int:encounter_id>/export.json", views.export, name="export"),
    path("decisions/<int:decision_id>/", views.decision_detail, name="decision"),
    path("import/", views.import_workup, name="import"),
]
