"""The JSON bodies of the order endpoints, for the views and the OpenAPI examples alike."""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings

from orderservice.api.fields import money_text
from orderservice.inventory.exceptions import Shortage
from orderservice.orders.lines import LineChange, line_total, order_total
from orderservice.orders.models import Order


def order_body(
    order: Order, lines: Mapping[str, int], prices: Mapping[str, Decimal]
) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "order_status": order.status,
        "products": [
            {"product_id": pid, "item_count": count, **_priced(prices[pid], count)}
            for pid, count in lines.items()
        ],
        **_totals(lines, prices),
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def placed_body(
    order: Order,
    lines: Mapping[str, int],
    prices: Mapping[str, Decimal],
    out_of_stock: Sequence[Shortage],
) -> dict[str, Any]:
    return {
        "message": "Success! Order placed",
        "order_id": order.id,
        "order_status": order.status,
        "products": [
            {
                "product_id": pid,
                "product_count": count,
                "item_count": count,
                **_priced(prices[pid], count),
            }
            for pid, count in lines.items()
        ],
        **_totals(lines, prices),
        "out_of_stock": [
            {"product_id": s.product_id, "requested": s.requested, "available": s.available}
            for s in out_of_stock
        ],
    }


def updated_body(
    order: Order,
    lines: Mapping[str, int],
    prices: Mapping[str, Decimal],
    changes: list[LineChange],
) -> dict[str, Any]:
    return {
        "message": "Order successfully updated",
        "order_id": order.id,
        "order_status": order.status,
        "products": [
            {"product_id": pid, "item_count": count, **_priced(prices[pid], count)}
            for pid, count in lines.items()
        ],
        **_totals(lines, prices),
        "changes": [{"product_id": c.product_id, "from": c.before, "to": c.after} for c in changes],
    }


def cancelled_body() -> dict[str, Any]:
    return {"message": "Order successfully cancelled"}


def _priced(unit_price: Decimal, count: int) -> dict[str, str]:
    return {
        "unit_price": money_text(unit_price),
        "line_total": money_text(line_total(unit_price, count)),
    }


def _totals(lines: Mapping[str, int], prices: Mapping[str, Decimal]) -> dict[str, str]:
    return {"total": money_text(order_total(lines, prices)), "currency": settings.CURRENCY}
