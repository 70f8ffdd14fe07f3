"""`python manage.py load_demo`: demo products and a demo user; prints the demo token."""

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand

from orderservice.inventory import selectors, services
from orderservice.inventory.exceptions import ProductNotFound
from orderservice.tokens.services import token_issue

DEMO_PRODUCTS = [
    ("SKU-1", "Espresso beans, 1 kg", 100, Decimal("18.50")),
    ("SKU-2", "Burr grinder", 10, Decimal("129.00")),
    ("SKU-3", "Milk jug, 600 ml", 25, Decimal("12.90")),
    ("SKU-4", "Paper filters, 100 pack", 500, Decimal("4.25")),
    ("SKU-5", "Limited edition mug", 2, Decimal("24.00")),
]


class Command(BaseCommand):
    help = "Load demo products (existing ones are left alone) and print a token for user 'demo'."

    def handle(self, *args: Any, **options: Any) -> None:
        for product_id, name, count, price in DEMO_PRODUCTS:
            try:
                selectors.product_get(product_id=product_id)
            except ProductNotFound:
                services.product_create(
                    product_id=product_id, name=name, product_count=count, price=price
                )
        self.stdout.write(token_issue(username="demo"))
