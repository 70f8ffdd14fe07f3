"""The ledger's opening balance: each product in stock gets an `initial` movement of its stock.

From here on, for every product the movements add up to product_count. A product with no stock
gets none (a change of 0 writes no movement). Reversing removes exactly these movements.
"""

from django.db import migrations
from django.utils import timezone

OPENING_NOTE = "Opening balance: the stock when the ledger began."


def opening_balances(apps, schema_editor):
    Product = apps.get_model("inventory", "Product")
    StockMovement = apps.get_model("inventory", "StockMovement")
    now = timezone.now()
    products = (
        Product.objects.filter(product_count__gt=0, movements__isnull=True)
        .order_by("product_id")
        .values_list("product_id", "product_count")
    )
    StockMovement.objects.bulk_create(
        (
            StockMovement(
                product_id=product_id,
                delta=count,
                count_after=count,
                reason="initial",
                note=OPENING_NOTE,
                created_at=now,
            )
            for product_id, count in products.iterator(chunk_size=2000)
        ),
        batch_size=1000,
    )


def remove_opening_balances(apps, schema_editor):
    StockMovement = apps.get_model("inventory", "StockMovement")
    StockMovement.objects.filter(reason="initial", actor=None, note=OPENING_NOTE).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0003_product_price_stock_ledger"),
    ]

    operations = [
        migrations.RunPython(opening_balances, remove_opening_balances),
    ]
