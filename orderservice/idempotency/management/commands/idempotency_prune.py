"""`python manage.py idempotency_prune`: delete idempotency keys older than 24 hours."""

from typing import Any

from django.core.management.base import BaseCommand

from orderservice.idempotency.services import idempotency_keys_prune


class Command(BaseCommand):
    help = "Delete idempotency keys older than 24 hours (they are ignored already). Run daily."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = idempotency_keys_prune()
        self.stdout.write(f"Deleted {deleted} expired idempotency keys.")
