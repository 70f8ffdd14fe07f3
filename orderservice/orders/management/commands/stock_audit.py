"""`python manage.py stock_audit`: check that the stock ledger explains every unit (SPEC §11)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from orderservice.inventory import selectors
from orderservice.orders.selectors import order_ledger_mismatches, order_total_count


class Command(BaseCommand):
    help = (
        "Check that for every product the stock movements add up to its product_count, and that "
        "every order's order_* movements take exactly what its lines hold (0 once cancelled). "
        "Names each product and order line that does not and exits non-zero; prints a one-line "
        "summary otherwise."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        mismatches = selectors.ledger_mismatches()
        for mismatch in mismatches:
            self.stderr.write(
                f"{mismatch.product_id}: product_count is {mismatch.product_count}, "
                f"its movements add up to {mismatch.movements_total}"
            )
        order_mismatches = order_ledger_mismatches()
        for line in order_mismatches:
            holds = "is cancelled, so 0" if line.cancelled else f"holds {line.held}"
            self.stderr.write(
                f"{line.order_id} {line.product_id}: the order {holds}, "
                f"its movements take {line.taken}"
            )
        problems = []
        if mismatches:
            problems.append(f"{len(mismatches)} product(s) not explained by their movements")
        if order_mismatches:
            problems.append(f"{len(order_mismatches)} order line(s) not matched by their movements")
        if problems:
            raise CommandError("; ".join(problems) + ".")
        self.stdout.write(
            f"Stock ledger OK: the movements of all {selectors.product_total()} products add up "
            f"to their product_count, and those of all {order_total_count()} orders to their "
            "lines."
        )
