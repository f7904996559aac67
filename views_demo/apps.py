from django.apps import AppConfig


class ViewsDemoConfig(AppConfig):
    name = "views_demo"
    default_auto_field = "django.db.models.BigAutoField"
