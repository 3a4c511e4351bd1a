from django.urls import path

from spinepath.public import views

app_name = "public"
urlpatterns = [
    path("", views.indication, name="home"),
    path("public/screen/", views.screen, name="screen"),
    path("public/request/", views.request_consultation, name="request"),
    path("public/<slug:slug>/", views.indication, name="protocol"),
    path("requests/", views.inbox, name="inbox"),
    path("requests/<int:request_id>/", views.request_detail, name="request_detail"),
    path("day/", views.day, name="day"),
    path("week/", views.week, name="week"),
    path("bookings/<int:appointment_id>/held/", views.visit_held, name="visit_held"),
    path(
        "bookings/visits/<int:plan_id>/<str:visit_key>/",
        views.visit_book,
        name="visit_book",
    ),
    path("bookings/", views.bookings, name="bookings"),
    path("bookings/<int:appointment_id>/change/", views.booking_change, name="change"),
    path("bookings/<int:appointment_id>/cancel/", views.booking_cancel, name="cancel"),
    path(
        "bookings/sessions/<int:plan_id>/<str:session_key>/",
        views.session_book,
        name="session_book",
    ),
    path(
        "bookings/requests/<int:request_id>/done/",
        views.change_request_done,
        name="change_request_done",
    ),
]
