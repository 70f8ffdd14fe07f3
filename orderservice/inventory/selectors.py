"""Reads of products and of their stock ledger."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import BigIntegerField, F, Sum, Value
from django.db.models.functions import Coalesce

from orderservice.common.db.by_key import KeyReader
from orderservice.inventory.exceptions import ProductNotFound
from orderservice.inventory.models import MovementReason, Product, StockMovement
from orderservice.inventory.stock_status import stock_status_condition

_product_by_id = KeyReader(Product)


def product_get(*, product_id: str) -> Product:
    # By key with a statement built once (common/db/by_key.py): the framework floor's one read.
    product = _product_by_id.get(product_id)
    if product is None:
        raise ProductNotFound(product_id)
    return product


def product_list(
    *, after: str | None, limit: int, stock_status: str | None = None
) -> list[Product]:
    """Products in product_id order, starting after the `after` id (keyset pagination).

    `stock_status` (a StockStatus value) keeps only the products with that status.
    """
    products = Product.objects.order_by("product_id")
    if stock_status is not None:
        products = products.filter(stock_status_condition(stock_status))
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


def movement_list(
    *, product_id: str, reason: str | None, before: int | None, limit: int
) -> list[StockMovement]:
    """A product's movements, newest first, those older than movement `before` (keyset pages).

    `reason` keeps only the movements of that reason. Raises ProductNotFound.
    """
    if not Product.objects.filter(product_id=product_id).exists():
        raise ProductNotFound(product_id)
    movements = StockMovement.objects.filter(product_id=product_id).order_by("-id")
    if reason is not None:
        movements = movements.filter(reason=reason)
    if before is not None:
        movements = movements.filter(id__lt=before)
    return list(movements[:limit])


@dataclass(frozen=True)
class LedgerMismatch:
    product_id: str
    product_count: int
    movements_total: int


def ledger_mismatches() -> list[LedgerMismatch]:
    """The products whose movements do not add up to their product_count (one GROUP BY query)."""
    rows = (
        Product.objects.annotate(
            total=Coalesce(Sum("movements__delta"), Value(0), output_field=BigIntegerField())
        )
        .exclude(product_count=F("total"))
        .order_by("product_id")
        .values_list("product_id", "product_count", "total")
    )
    return [LedgerMismatch(*row) for row in rows]


ORDER_REASONS = (
    MovementReason.ORDER_PLACED,
    MovementReason.ORDER_EDITED,
    MovementReason.ORDER_CANCELLED,
)


def order_movement_totals() -> dict[tuple[str, str], int]:
    """The sum of the deltas of each (order_id, product_id)'s order_placed, order_edited and
    order_cancelled movements (one GROUP BY query). `order_id` is the plain string the movements
    carry; one naming no order is under "(no order)"."""
    rows = (
        StockMovement.objects.filter(reason__in=ORDER_REASONS)
        .values("order_id", "product_id")
        .annotate(total=Sum("delta"))
        .values_list("order_id", "product_id", "total")
    )
    return {(order_id or "(no order)", product_id): total for order_id, product_id, total in rows}


def product_total() -> int:
    return Product.objects.count()
