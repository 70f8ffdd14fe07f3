"""Row locks on products, always taken in one order so concurrent writers cannot deadlock."""

from collections.abc import Iterable

from orderservice.common.db import require_transaction
from orderservice.inventory.models import Product


def products_lock(product_ids: Iterable[str]) -> dict[str, int]:
    """Lock the named products (FOR UPDATE, in product_id order) and return their stock.

    Every writer of stock locks through here, so two transactions that need the same products
    always queue in the same order. Unknown ids are simply absent from the result.
    """
    require_transaction()
    rows = (
        Product.objects.select_for_update()
        .filter(product_id__in=sorted(set(product_ids)))
        .order_by("product_id")
        .values_list("product_id", "product_count")
    )
    return dict(rows)
