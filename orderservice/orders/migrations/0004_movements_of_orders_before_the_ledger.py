"""The orders placed before the ledger get their `order_placed` movements (SPEC §11).

The ledger's opening balance (inventory 0004) is each product's stock, which is already less the
units that orders hold. So that `stock_audit` finds every order's lines in its movements, each
line of an order that is not cancelled and has no movements of its own gets an `order_placed`
movement (its actor the order's owner), and each product an `initial` movement of the units those lines hold, written first:
the sum of every product's movements, its product_count, does not change, and each count_after
still follows from the one before. A cancelled order's movements add up to 0 already (it has
none). Reversing removes exactly these movements.
"""

from itertools import groupby
from operator import itemgetter

from django.db import migrations
from django.db.models import Exists, OuterRef
from django.utils import timezone

HELD_NOTE = "Opening balance: units held by orders placed before the ledger began."
ORDER_NOTE = "Placed before the ledger began."


def movements_of_earlier_orders(apps, schema_editor):
    OrderItem = apps.get_model("orders", "OrderItem")
    Product = apps.get_model("inventory", "Product")
    StockMovement = apps.get_model("inventory", "StockMovement")
    now = timezone.now()
    own_movements = StockMovement.objects.filter(
        order_id=OuterRef("order_id"), reason__startswith="order_"
    )
    lines = (
        OrderItem.objects.exclude(order__status="cancelled")
        .exclude(Exists(own_movements))
        .order_by("product_id", "order__created_at", "order_id")
        .values_list("product_id", "order_id", "item_count", "order__user__username")
    )
    stock = dict(Product.objects.values_list("product_id", "product_count"))

    def movements():
        for product_id, group in groupby(lines.iterator(chunk_size=2000), key=itemgetter(0)):
            held = list(group)
            count = stock[product_id] + sum(n for _, _, n, _ in held)
            yield StockMovement(
                product_id=product_id,
                delta=count - stock[product_id],
                count_after=count,
                reason="initial",
                note=HELD_NOTE,
                created_at=now,
            )
            for _, order_id, n, owner in held:
                count -= n
                yield StockMovement(
                    product_id=product_id,
                    delta=-n,
                    count_after=count,
                    reason="order_placed",
                    order_id=order_id,
                    actor=owner,
                    note=ORDER_NOTE,
                    created_at=now,
                )

    StockMovement.objects.bulk_create(movements(), batch_size=1000)


def remove_them(apps, schema_editor):
    StockMovement = apps.get_model("inventory", "StockMovement")
    StockMovement.objects.filter(reason="initial", actor=None, note=HELD_NOTE).delete()
    StockMovement.objects.filter(reason="order_placed", note=ORDER_NOTE).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0004_initial_movements"),
        ("orders", "0003_orderitem_unit_price"),
    ]

    operations = [
        migrations.RunPython(movements_of_earlier_orders, remove_them),
    ]
