from django.urls import path

from spinepath.records import views

app_name = "records"
urlpatterns = [
    path("<int:patient_id>/", views.patient_chart, name="chart"),
    path("<int:patient_id>/fhir.json", views.patient_fhir, name="fhir"),
]
