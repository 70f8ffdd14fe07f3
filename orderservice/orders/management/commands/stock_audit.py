"""`python manage.py stock_audit`: check that the stock ledger explains every unit (SPEC §11)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from orderservice.inventory import selectors


class Command(BaseCommand):
    help = (
        "Check that for every product the stock movements add up to its product_count. Names "
        "each product that does not and exits non-zero; prints a one-line summary otherwise."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        mismatches = selectors.ledger_mismatches()
        for mismatch in mismatches:
            self.stderr.write(
                f"{mismatch.product_id}: product_count is {mismatch.product_count}, "
                f"its movements add up to {mismatch.movements_total}"
            )
        if mismatches:
            raise CommandError(f"{len(mismatches)} product(s) not explained by their movements.")
        self.stdout.write(
            f"Stock ledger OK: the movements of all {selectors.product_total()} products add up "
            "to their product_count."
        )
