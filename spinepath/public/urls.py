from django.urls import path

from spinepath.public import views

app_name = "public"
urlpatterns = [
    path("", views.indication, name="home"),
    path("public/screen/", views.screen, name="screen"),
    path("public/request/", views.request_consultation, name="request"),
    path("public/<slug:slug>/", views.indication, name="protocol"),
    path("requests/", views.inbox, name="inbox"),
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
