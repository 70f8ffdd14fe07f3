"""factory_boy factories for users and products; orders are made through order_place."""

from collections.abc import Iterable, Mapping
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, User

from orderservice.inventory.models import MovementReason, Product, StockMovement
from orderservice.orders.models import Order
from orderservice.orders.placement import order_place
from orderservice.orders.services import order_set_status


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True


class ProductFactory(factory.django.DjangoModelFactory[Product]):
    class Meta:
        model = Product

    product_id = factory.Sequence(lambda n: f"SKU-{n}")
    name = factory.Faker("sentence", nb_words=3)
    product_count = 10

    @classmethod
    def _create(cls, model_class: type[Product], *args: Any, **kwargs: Any) -> Product:
        # With its `initial` movement, as product_create makes it: the ledger adds up in tests.
        product = super()._create(model_class, *args, **kwargs)
        if product.product_count:
            StockMovement.objects.create(
                product=product,
                delta=product.product_count,
                count_after=product.product_count,
                reason=MovementReason.INITIAL,
            )
        return product


def place_order(
    *, user: AbstractBaseUser, lines: Mapping[str, int], status: str | None = None
) -> Order:
    """An order made the way a client makes one (stock taken), optionally moved to `status`.

    `status` is reached through the real pipeline (placed -> processing -> shipped -> delivered,
    or cancelled), so the order's stock and version are what they would be in production.
    """
    order = order_place(user=user, lines=dict(lines), partial=False).order
    path = {
        None: [],
        "placed": [],
        "processing": ["processing"],
        "shipped": ["processing", "shipped"],
        "delivered": ["processing", "shipped", "delivered"],
        "cancelled": ["cancelled"],
    }[status]
    staff = StaffFactory.create()
    for step in path:
        order = order_set_status(order_id=order.id, user=staff, status=step).order
    order.refresh_from_db()
    return order


def stock() -> dict[str, int]:
    """Every product's product_count, read fresh from the database."""
    return dict(Product.objects.order_by("product_id").values_list("product_id", "product_count"))


def movements(product_id: str) -> list[tuple[int, int, str, str | None, str | None]]:
    """A product's stock movements, oldest first: (delta, count_after, reason, actor, note)."""
    return list(
        StockMovement.objects.filter(product_id=product_id)
        .order_by("id")
        .values_list("delta", "count_after", "reason", "actor", "note")
    )


def ledger_violations(product_ids: Iterable[str] | None = None) -> list[str]:
    """Each product (of all, or those named) whose movements do not add up to its product_count
    (SPEC §11), or whose movements, in order, do not run from 0 to it (each count_after = the
    previous + delta)."""
    problems = []
    products = Product.objects.order_by("product_id")
    if product_ids is not None:
        products = products.filter(product_id__in=list(product_ids))
    for product in products:
        running = 0
        for delta, count_after, reason, _, _ in movements(product.product_id):
            running += delta
            if count_after != running:
                problems.append(f"{product.product_id}: {reason} {delta:+d} -> {count_after}")
        if running != product.product_count:
            problems.append(
                f"{product.product_id}: movements {running}, stock {product.product_count}"
            )
    return problems
