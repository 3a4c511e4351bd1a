from django.urls import path

from spinepath.followup import views

app_name = "followup"
urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("visits/<int:visit_id>/", views.visit_detail, name="visit"),
    path("worklist/letters.pdf", views.letters_print, name="letters"),
    path("visits/<int:visit_id>/link/", views.link_create, name="link"),
    path("q/<str:token>/", views.questionnaire, name="questionnaire"),
    path("patients/<int:patient_id>/outcomes.svg", views.outcome_chart, name="chart"),
]
