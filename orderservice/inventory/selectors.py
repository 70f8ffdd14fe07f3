"""Reads of products."""

from collections.abc import Iterable

from orderservice.inventory.exceptions import ProductNotFound
from orderservice.inventory.models import Product


def product_get(*, product_id: str) -> Product:
    try:
        return Product.objects.get(product_id=product_id)
    except Product.DoesNotExist as exc:
        raise ProductNotFound(product_id) from exc


def product_list(*, after: str | None, limit: int) -> list[Product]:
    """Products in product_id order, starting after the `after` id (keyset pagination)."""
    products = Product.objects.order_by("product_id")
    if after is not None:
        products = products.filter(product_id__gt=after)
    return list(products[:limit])


def product_ids_unknown(*, product_ids: Iterable[str]) -> list[str]:
    """The ids among `product_ids` that name no product, sorted."""
    wanted = set(product_ids)
    if not wanted:
        return []
    known = Product.objects.filter(product_id__in=wanted).values_list("product_id", flat=True)
    return sorted(wanted - set(known))
