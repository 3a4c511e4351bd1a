from django.urls import path

from spinepath.outcomes import views

app_name = "outcomes"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("evidence/", views.evidence_library, name="evidence"),
    path("features/", views.features, name="features"),
    path("like-you/", views.like_you, name="like_you"),
    path("figures/recount/", views.figures_recount, name="figures_recount"),
    path("completion/", views.completion, name="completion"),
    path("model/", views.model_page, name="model"),
    path("model/calibration.png", views.model_png, name="model_png"),
    path("completion/line/", views.completion_line, name="completion_line"),
    path("export/cohort.csv", views.export_csv, {"kind": "identified"}, name="csv"),
    path(
        "export/cohort-deidentified.csv",
        views.export_csv,
        {"kind": "deidentified"},
        name="deidentified",
    ),
    path("export/cohort.xlsx", views.export_excel, name="excel"),
    path("export/dictionary.csv", views.export_dictionary, name="dictionary"),
    path("export/ichom-low-back-pain.csv", views.export_ichom, name="ichom"),
    path(
        "export/ichom-low-back-pain-dictionary.csv",
        views.export_ichom_dictionary,
        name="ichom_dictionary",
    ),
    path("report.pdf", views.outcomes_report, name="report"),
    path("policy/", views.policy_drafts, name="policy_drafts"),
    path("policy/<int:draft_id>/", views.policy_draft, name="policy_draft"),
    path("policy/<int:draft_id>/adopt/", views.policy_adopt, name="policy_adopt"),
    path("policy/<int:draft_id>/restart/", views.policy_restart, name="policy_restart"),
]
