"""`python manage.py rotate_webhook_secrets`: re-encrypt webhook secrets with the newest key."""

from typing import Any

from django.core.management.base import BaseCommand

from orderservice.events.services import webhook_secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Encrypt every webhook secret with the first key of WEBHOOK_SECRET_KEYS. Rotation: put "
        "a new key first, run this, then remove the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = webhook_secrets_reencrypt()
        self.stdout.write(f"Re-encrypted {count} webhook secrets with the first key.")
