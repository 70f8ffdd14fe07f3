"""The JSON bodies of products and stock movements, for the views and the OpenAPI examples."""

from typing import Any

from django.conf import settings

from orderservice.api.fields import money_text
from orderservice.inventory.models import Product, StockMovement
from orderservice.inventory.stock_status import stock_status


def product_body(product: Product) -> dict[str, object]:
    return {
        "product_id": product.product_id,
        "name": product.name,
        "product_count": product.product_count,
        "price": money_text(product.price),
        "currency": settings.CURRENCY,
        "stock_status": stock_status(product.product_count, product.low_stock_threshold).value,
        "low_stock_threshold": product.low_stock_threshold,
        "unfilled_units": product.unfilled_units,
    }


def movement_body(movement: StockMovement) -> dict[str, Any]:
    return {
        "movement_id": movement.movement_id,
        "product_id": movement.product_id,
        "delta": movement.delta,
        "count_after": movement.count_after,
        "reason": movement.reason,
        "order_id": movement.order_id,
        "actor": movement.actor,
        "note": movement.note,
        "created_at": movement.created_at,
    }
