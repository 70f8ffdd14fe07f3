"""common/db/by_key.KeyReader: the same instance as the ORM's get(pk=...), from one statement."""

from decimal import Decimal

import psycopg
import pytest
from django.db import models

from orderservice.common import clock
from orderservice.common.db.by_key import KeyReader
from orderservice.idempotency.models import IdempotencyKey
from orderservice.inventory.models import Product
from orderservice.orders.models import Order
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def _values(instance: object, model: type[models.Model]) -> list[tuple[str, object, type]]:
    return [
        (field.attname, getattr(instance, field.attname), type(getattr(instance, field.attname)))
        for field in model._meta.concrete_fields
    ]


@pytest.mark.parametrize(
    ("price", "count", "name"),
    [
        (Decimal("0.00"), 0, "Free"),
        (Decimal("12.50"), 7, "Kettle ☕ «große»"),
        (Decimal("1000000.00"), 2_000_000_000, "x" * 200),
    ],
)
def test_a_product_reads_as_the_orm_reads_it(price, count, name, django_assert_num_queries):
    ProductFactory.create(product_id="SKU-K", price=price, product_count=count, name=name)
    Product.objects.filter(product_id="SKU-K").update(unfilled_units=3, low_stock_threshold=9)

    with django_assert_num_queries(1):
        read = KeyReader(Product).get("SKU-K")

    assert read is not None
    assert _values(read, Product) == _values(Product.objects.get(product_id="SKU-K"), Product)
    assert read._state.adding is False  # a saved row: save() updates it
    read.name = "Renamed"
    read.save(update_fields=["name"])
    assert Product.objects.get(product_id="SKU-K").name == "Renamed"


def test_an_order_with_times_and_a_foreign_key_reads_as_the_orm_reads_it():
    user = UserFactory.create(username="buyer")
    now = clock.now()
    order = Order.objects.create(user=user, created_at=now, updated_at=now, version=4)

    read = KeyReader(Order).get(order.id)

    assert read is not None
    assert _values(read, Order) == _values(Order.objects.get(id=order.id), Order)
    assert read.created_at == now  # aware, to the microsecond


def test_a_missing_key_is_none():
    assert KeyReader(Product).get("SKU-NONE") is None


def test_a_model_whose_fields_convert_their_values_is_refused():
    # JSONField converts in from_db_value: the reader would hand out the raw column.
    with pytest.raises(TypeError, match="response_headers"):
        KeyReader(IdempotencyKey)


def test_with_an_owner_only_the_owners_row_is_read(django_assert_num_queries):
    owner, other = UserFactory.create(username="owner"), UserFactory.create(username="other")
    now = clock.now()
    order = Order.objects.create(user=owner, created_at=now, updated_at=now)
    reader = KeyReader(Order, owner_field="user")

    with django_assert_num_queries(1):
        mine = reader.get(order.id, owner=owner.pk)

    assert mine is not None
    assert _values(mine, Order) == _values(Order.objects.get(id=order.id), Order)
    assert reader.get(order.id, owner=other.pk) is None
    assert reader.get(order.id) is not None  # no owner given: any owner's
    with pytest.raises(TypeError, match="owner_field"):
        KeyReader(Order).get(order.id, owner=owner.pk)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_for_update_holds_the_row_lock_until_the_transaction_ends():
    # given: a row read for update inside a transaction
    from django.db import transaction

    from tests.live import raw_connection

    user = UserFactory.create(username="locker")
    now = clock.now()
    order = Order.objects.create(user=user, created_at=now, updated_at=now)
    other = raw_connection()
    try:
        with transaction.atomic():
            assert KeyReader(Order, owner_field="user", for_update=True).get(
                order.id, owner=user.pk
            )
            # when: another connection asks for the same row's lock, without waiting
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(
                    "SELECT 1 FROM orders_order WHERE id = %s FOR UPDATE NOWAIT", [order.id]
                )
            other.rollback()
        # then: released with the transaction
        assert other.execute(
            "SELECT 1 FROM orders_order WHERE id = %s FOR UPDATE NOWAIT", [order.id]
        ).fetchone() == (1,)
    finally:
        other.rollback()
        other.close()
