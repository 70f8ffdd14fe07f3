"""What the inventory service can refuse, with the data a caller needs to explain it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Shortage:
    product_id: str
    requested: int
    available: int


class UnknownProducts(Exception):
    def __init__(self, product_ids: list[str]) -> None:
        super().__init__(f"unknown products: {', '.join(product_ids)}")
        self.product_ids = product_ids


class OutOfStock(Exception):
    def __init__(self, shortages: list[Shortage]) -> None:
        super().__init__(f"out of stock: {', '.join(s.product_id for s in shortages)}")
        self.shortages = shortages


class ProductNotFound(Exception):
    pass


class ProductAlreadyExists(Exception):
    pass
