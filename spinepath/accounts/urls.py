from django.contrib.auth import views as auth_views
from django.urls import path

from spinepath.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("second-factor/", views.mfa, name="mfa"),
    path("second-factor/set-up/", views.enrol, name="enrol"),
    path("account/", views.recovery, name="recovery"),
    path("password/", views.password, name="password"),
    path("staff/", views.staff_list, name="staff"),
    path("staff/<int:user_id>/", views.staff_detail, name="staff_detail"),
    path("staff/<int:user_id>/<slug:action>/", views.staff_action, name="staff_action"),
]
