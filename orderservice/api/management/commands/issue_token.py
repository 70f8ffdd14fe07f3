"""`python manage.py issue_token USERNAME [--staff]`: print a new API key, and nothing else."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orderservice.api.tokens import token_issue


class Command(BaseCommand):
    help = "Create the user if missing and print a new API token key (shown once; stored hashed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--staff", action="store_true", help="make the user staff")

    def handle(self, *args: Any, **options: Any) -> None:
        key = token_issue(username=options["username"], staff=options["staff"])
        self.stdout.write(key)
