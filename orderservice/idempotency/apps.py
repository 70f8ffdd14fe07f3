from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    name = "orderservice.idempotency"
    label = "idempotency"
    verbose_name = "Idempotency keys"
