"""`python manage.py revoke_token (--key=KEY | --user=USERNAME)`: the key(s) stop working."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orderservice.tokens.services import token_revoke


class Command(BaseCommand):
    help = (
        "Revoke one API token by its key, or every token of a user. Other running server "
        "processes stop accepting it within TOKEN_CACHE_SECONDS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--key", help="the token key, as issue_token printed it")
        which.add_argument("--user", dest="username", help="revoke every token of this user")

    def handle(self, *args: Any, **options: Any) -> None:
        key, username = options["key"], options["username"]
        count = token_revoke(key=key, username=username)
        if count == 0:
            raise CommandError("No such token." if key else f"User {username!r} has no token.")
        self.stdout.write(f"Revoked {count} token{'s' if count != 1 else ''}.")
