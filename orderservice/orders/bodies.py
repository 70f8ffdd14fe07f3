"""The JSON bodies of the order endpoints, for the views and the OpenAPI examples alike."""

from typing import Any

from orderservice.orders.models import Order
from orderservice.orders.placement import PlacedOrder


def order_body(order: Order, lines: dict[str, int]) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "order_status": order.status,
        "products": [{"product_id": pid, "item_count": count} for pid, count in lines.items()],
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def placed_body(placed: PlacedOrder) -> dict[str, Any]:
    order = placed.order
    return {
        "message": "Success! Order placed",
        "order_id": order.id,
        "order_status": order.status,
        "products": [
            {"product_id": pid, "product_count": count, "item_count": count}
            for pid, count in placed.lines.items()
        ],
        "out_of_stock": [
            {"product_id": s.product_id, "requested": s.requested, "available": s.available}
            for s in placed.out_of_stock
        ],
    }


def cancelled_body() -> dict[str, Any]:
    return {"message": "Order successfully cancelled"}
