"""`python manage.py load_demo`: demo products and a demo user; prints the demo token."""

from typing import Any

from django.core.management.base import BaseCommand

from orderservice.inventory import selectors, services
from orderservice.inventory.exceptions import ProductNotFound
from orderservice.tokens.services import token_issue

DEMO_PRODUCTS = [
    ("SKU-1", "Espresso beans, 1 kg", 100),
    ("SKU-2", "Burr grinder", 10),
    ("SKU-3", "Milk jug, 600 ml", 25),
    ("SKU-4", "Paper filters, 100 pack", 500),
    ("SKU-5", "Limited edition mug", 2),
]


class Command(BaseCommand):
    help = "Load demo products (existing ones are left alone) and print a token for user 'demo'."

    def handle(self, *args: Any, **options: Any) -> None:
        for product_id, name, count in DEMO_PRODUCTS:
            try:
                selectors.product_get(product_id=product_id)
            except ProductNotFound:
                services.product_create(product_id=product_id, name=name, product_count=count)
        self.stdout.write(token_issue(username="demo"))
