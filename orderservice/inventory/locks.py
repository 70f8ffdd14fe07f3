"""Row locks on products, always taken in one order so concurrent writers cannot deadlock."""

from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from orderservice.common.db import require_transaction
from orderservice.inventory.models import Product


class LockedProduct(NamedTuple):
    """A product's stock and price as read under its row lock: they cannot change until commit."""

    product_count: int
    price: Decimal


def products_lock(product_ids: Iterable[str]) -> dict[str, LockedProduct]:
    """Lock the named products (FOR UPDATE, in product_id order) and return their stock and price.

    Every writer of stock locks through here, so two transactions that need the same products
    always queue in the same order. Unknown ids are simply absent from the result.
    """
    require_transaction()
    rows = (
        Product.objects.select_for_update()
        .filter(product_id__in=sorted(set(product_ids)))
        .order_by("product_id")
        .values_list("product_id", "product_count", "price")
    )
    return {product_id: LockedProduct(count, price) for product_id, count, price in rows}
