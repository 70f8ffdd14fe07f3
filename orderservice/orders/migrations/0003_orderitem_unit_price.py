"""Order lines record their unit price (SPEC §10).

The lines that exist already were placed when no price was recorded; they take their product's
price at the time of this migration, as a best effort. It is the only price there is to take:
where this migration runs together with the products' prices (inventory 0003) every product is
still at its default 0.00, so old lines show 0.00 and totals of 0.00, which is what they were
sold for as far as the service ever knew; where staff set prices in between, the current price
is the closest record of what the line cost. Either way later price changes no longer touch them.
"""

from decimal import Decimal

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def lines_at_current_prices(apps, schema_editor):
    OrderItem = apps.get_model("orders", "OrderItem")
    Product = apps.get_model("inventory", "Product")
    price = Product.objects.filter(product_id=OuterRef("product_id")).values("price")[:1]
    OrderItem.objects.update(unit_price=Subquery(price))


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0003_product_price_stock_ledger"),
        ("orders", "0002_timestamps_from_clock"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderitem",
            name="unit_price",
            field=models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=9),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="orderitem",
            constraint=models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="unit_price_not_negative"
            ),
        ),
        migrations.RunPython(lines_at_current_prices, migrations.RunPython.noop),
    ]
