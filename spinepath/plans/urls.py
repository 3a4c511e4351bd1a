from django.urls import path

from spinepath.plans import views

app_name = "plans"
urlpatterns = [
    path("patients/<int:patient_id>/plans/", views.patient_plan, name="patient"),
    path("patients/<int:patient_id>/procedures/new/", views.procedure_new, name="procedure"),
    path("procedures/<int:procedure_id>/void/", views.procedure_void, name="void"),
    path("plans/<int:plan_id>/", views.plan_detail, name="plan"),
    path("plans/<int:plan_id>/plan.pdf", views.plan_pdf, name="pdf"),
    path("plans/<int:plan_id>/release/", views.plan_release, name="release"),
    path("plans/<int:plan_id>/accept/", views.plan_accept, name="accept"),
    path("plans/<int:plan_id>/revise/", views.plan_revise, name="revise"),
    path("prices/", views.price_list, name="prices"),
    path("products/", views.products, name="products"),
    path("products/lookback/", views.lookback, name="lookback"),
]
