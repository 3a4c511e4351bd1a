from django.urls import path

from spinepath.safety import views

app_name = "safety"
urlpatterns = [
    path("safety/", views.index, name="index"),
    path("safety/answers/<int:report_id>/", views.report_detail, name="report"),
    path("safety/events/<int:event_id>/", views.event_detail, name="event"),
    path("safety/events/<int:event_id>/medwatch-3500a.pdf", views.medwatch, name="medwatch"),
    path("patients/<int:patient_id>/safety-answers/new/", views.answers_new, name="answers_new"),
    path("patients/<int:patient_id>/adverse-events/new/", views.event_new, name="event_new"),
    path("products/lookback/write/", views.lookback_notify, name="lookback_notify"),
    path("products/lookback/sent/<str:key>/", views.lookback_sent, name="lookback_sent"),
    path(
        "products/lookback/sent/<str:key>/letters.pdf",
        views.lookback_letters,
        name="lookback_letters",
    ),
    path(
        "patients/<int:patient_id>/reinterventions/new/",
        views.reintervention_new,
        name="reintervention_new",
    ),
    path(
        "safety/reinterventions/<int:reintervention_id>/",
        views.reintervention_detail,
        name="reintervention",
    ),
]
