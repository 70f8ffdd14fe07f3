"""`python manage.py prune_events`: delete events older than EVENT_RETENTION_DAYS."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from orderservice.events.services import events_prune


class Command(BaseCommand):
    help = "Delete events (and their deliveries) older than EVENT_RETENTION_DAYS. Run daily."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = events_prune()
        self.stdout.write(
            f"Deleted {deleted} events older than {settings.EVENT_RETENTION_DAYS} days."
        )
