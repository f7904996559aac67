from django.apps import AppConfig


class TunedConfig(AppConfig):
    name = "tuned"

    def ready(self):
        from tuned import checks  # noqa: F401 - registers the system checks
