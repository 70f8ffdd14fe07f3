"""What the inventory service can refuse, with the data a caller needs to explain it.

Each refusal is a kind of common.exceptions, so the HTTP edge maps it without knowing inventory.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orderservice.common.exceptions import Conflict, InsufficientStock, InvalidInput, NotFound


@dataclass(frozen=True)
class Shortage:
    product_id: str
    requested: int
    available: int


class UnknownProducts(InvalidInput):
    code = "invalid-request"

    def __init__(self, product_ids: list[str]) -> None:
        super().__init__(f"unknown products: {', '.join(product_ids)}")
        self.product_ids = product_ids

    def details(self) -> Mapping[str, Any]:
        return {"unknown_products": self.product_ids}


class OutOfStock(InsufficientStock):
    code = "product-out-of-stock"

    def __init__(self, shortages: list[Shortage]) -> None:
        super().__init__(f"out of stock: {', '.join(s.product_id for s in shortages)}")
        self.shortages = shortages

    def details(self) -> Mapping[str, Any]:
        return {
            "out_of_stock": [
                {"product_id": s.product_id, "requested": s.requested, "available": s.available}
                for s in self.shortages
            ]
        }


class ProductNotFound(NotFound):
    code = "product-not-found"


class ProductAlreadyExists(Conflict):
    code = "conflict"

    def __init__(self, product_id: str) -> None:
        super().__init__("A product with this product_id already exists.")
        self.product_id = product_id


class StockNotAsExpected(Conflict):
    """An adjustment's expected_count is not the stock: a count that missed a change."""

    code = "conflict"

    def __init__(self, product_id: str, product_count: int) -> None:
        super().__init__(
            "The stock is not the expected_count: it changed since it was counted. "
            "Count again, or send the adjustment without expected_count."
        )
        self.product_id = product_id
        self.product_count = product_count

    def details(self) -> Mapping[str, Any]:
        return {"product_count": self.product_count}


class StockWouldGoNegative(Conflict):
    """An adjustment would take the stock below 0."""

    code = "conflict"

    def __init__(self, product_id: str, product_count: int) -> None:
        super().__init__("The adjustment would take the stock below 0.")
        self.product_id = product_id
        self.product_count = product_count

    def details(self) -> Mapping[str, Any]:
        return {"product_count": self.product_count}
