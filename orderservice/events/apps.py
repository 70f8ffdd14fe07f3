from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "orderservice.events"
    label = "events"
    verbose_name = "Events and webhooks"

    def ready(self) -> None:
        from orderservice.events import checks  # noqa: F401  (registers the deploy checks)
