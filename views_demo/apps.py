from django.apps import AppConfig


class ViewsDemoConfig(AppConfig):
    name = "views_demo"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from views_demo import checks  # noqa: F401 - registers the system checks
