from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

# Django's own 400s (an oversized body, a bad Host) get a JSON reason like the demos' errors.
handler400 = "views_demo.errors.bad_request"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("views_demo.urls")),
    path("", include("lab.urls")),
]
