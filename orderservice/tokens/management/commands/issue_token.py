"""`manage.py issue_token USERNAME [--staff] [--expires-in DAYS]`: print a new API key, only."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orderservice.common import clock
from orderservice.tokens.services import token_issue


class Command(BaseCommand):
    help = "Create the user if missing and print a new API token key (shown once; stored hashed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--staff", action="store_true", help="make the user staff")
        parser.add_argument(
            "--expires-in",
            type=float,
            metavar="DAYS",
            help="the key stops working after this many days (default: never)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["expires_in"]
        if days is not None and days <= 0:
            raise CommandError("--expires-in must be a positive number of days.")
        expires_at = clock.now() + timedelta(days=days) if days is not None else None
        key = token_issue(
            username=options["username"], staff=options["staff"], expires_at=expires_at
        )
        self.stdout.write(key)
