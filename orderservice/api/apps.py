from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "orderservice.api"
    label = "api"
    verbose_name = "HTTP API"

    def ready(self) -> None:
        from orderservice.api import checks  # noqa: F401  (registers the system checks)
