from django.contrib import admin
from django.urls import include, path

# Django's own 400s (an oversized body, a bad Host) get a JSON reason like the demos' errors.
handler400 = "views_demo.errors.bad_request"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("views_demo.urls")),
]
