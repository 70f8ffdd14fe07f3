"""`python manage.py prune_stored_statements`: drop the functions older app versions called."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from orderservice.common.db import stored


class Command(BaseCommand):
    help = (
        "Drop the PL/pgSQL functions that earlier versions of the app made for their hot "
        "statements (common/db/stored.py): every `migrate` makes the current ones and keeps the "
        "old, which app servers of an older version still call during a rolling deploy. Run it "
        "once no such server is left. --dry-run lists them. Nothing to do on SQLite."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list, drop nothing")
        parser.add_argument("--database", default="default", help="the database alias")

    def handle(self, *args: Any, **options: Any) -> None:
        using = options["database"]
        if connections[using].vendor != "postgresql":
            self.stdout.write("Not PostgreSQL: no stored statements.")
            return
        signatures = stored.stale(using)
        for signature in signatures:
            self.stdout.write(signature)
        if options["dry_run"]:
            self.stdout.write(f"{len(signatures)} function(s) of earlier versions (dry run).")
            return
        stored.drop(signatures, using)
        self.stdout.write(f"Dropped {len(signatures)} function(s) of earlier versions.")
