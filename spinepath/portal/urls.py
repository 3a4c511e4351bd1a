from django.urls import path

from spinepath.portal import views

app_name = "portal"
urlpatterns = [
    path("my/sign-in/", views.sign_in, name="sign_in"),
    path("my/in/<str:token>/", views.link, name="link"),
    path("my/sign-out/", views.sign_out, name="sign_out"),
    path("my/", views.home, name="home"),
    path("my/consultation/", views.consultation, name="consultation"),
    path("my/plan/", views.plan, name="plan"),
    path("my/plan/<int:plan_id>/plan.pdf", views.plan_pdf, name="plan_pdf"),
    path("my/appointments/", views.appointments, name="appointments"),
    path(
        "my/appointments/<int:appointment_id>/calendar.ics",
        views.appointment_calendar,
        name="appointment_ics",
    ),
    path("my/appointments/<int:appointment_id>/change/", views.change_request, name="change"),
    path("my/check-ins/<int:visit_id>/calendar.ics", views.visit_calendar, name="visit_ics"),
    path("my/questionnaires/", views.questionnaires, name="questionnaires"),
    path(
        "my/questionnaires/<int:visit_id>/start/",
        views.questionnaire_start,
        name="questionnaire_start",
    ),
    path("my/progress/", views.progress, name="progress"),
    path("my/safety/", views.safety, name="safety"),
    path("patients/<int:patient_id>/sign-in-link/", views.send_link, name="send_link"),
]
