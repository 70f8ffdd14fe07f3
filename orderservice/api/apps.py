from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "orderservice.api"
    label = "api"
    verbose_name = "HTTP API"
