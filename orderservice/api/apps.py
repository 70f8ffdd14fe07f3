from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "orderservice.api"
    label = "api"
    verbose_name = "HTTP API"

    def ready(self) -> None:
        from orderservice.api.request_signals import drop_idle_receivers

        drop_idle_receivers()
