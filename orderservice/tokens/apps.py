from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "orderservice.tokens"
    label = "tokens"
    verbose_name = "API access"
