"""inventory.services.product_create: the product, and its stock as an `initial` movement."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.test import override_settings

from orderservice.inventory.exceptions import ProductAlreadyExists
from orderservice.inventory.models import Product, StockMovement
from orderservice.inventory.services import product_create
from tests.factories import ProductFactory, ledger_violations, movements, stock

pytestmark = pytest.mark.django_db


def test_create_stores_the_product() -> None:
    # when
    product = product_create(product_id="KETTLE-1", name="Kettle", product_count=7)

    # then
    assert (product.product_id, product.name, product.product_count) == ("KETTLE-1", "Kettle", 7)
    fresh = Product.objects.get(product_id="KETTLE-1")
    assert (fresh.name, fresh.product_count) == ("Kettle", 7)


def test_an_existing_id_is_refused_and_the_product_left_alone() -> None:
    # given
    ProductFactory.create(product_id="KETTLE-1", name="Kettle", product_count=7)

    # when
    with pytest.raises(ProductAlreadyExists):
        product_create(product_id="KETTLE-1", name="Other", product_count=99)

    # then
    assert Product.objects.values_list("name", "product_count").get() == ("Kettle", 7)
    assert movements("KETTLE-1") == [(7, 7, "initial", None, None)]


def test_a_refused_duplicate_leaves_an_enclosing_transaction_usable() -> None:
    # given a caller that already holds a transaction (the Django admin wraps its views in one)
    ProductFactory.create(product_id="KETTLE-1", product_count=7)

    # when
    with transaction.atomic():
        with pytest.raises(ProductAlreadyExists):
            product_create(product_id="KETTLE-1", name="Other", product_count=99)
        product_create(product_id="KETTLE-2", name="Second", product_count=1)

    # then
    assert stock() == {"KETTLE-1": 7, "KETTLE-2": 1}


def test_ids_differing_only_in_case_are_different_products() -> None:
    # given
    ProductFactory.create(product_id="kettle", product_count=1)

    # when
    product_create(product_id="KETTLE", name="Loud kettle", product_count=2)

    # then
    assert stock() == {"KETTLE": 2, "kettle": 1}


# --- the ledger (SPEC §11) -------------------------------------------------------------------


def test_stock_a_product_starts_with_is_its_initial_movement() -> None:
    # when
    product_create(product_id="KETTLE-1", name="Kettle", product_count=7, actor="boss")

    # then
    assert movements("KETTLE-1") == [(7, 7, "initial", "boss", None)]
    assert ledger_violations() == []


def test_a_product_created_by_the_system_has_no_actor() -> None:
    # when
    product_create(product_id="KETTLE-1", name="Kettle", product_count=3)

    # then
    assert movements("KETTLE-1") == [(3, 3, "initial", None, None)]


def test_a_product_created_without_stock_has_no_movement() -> None:
    # when
    product_create(product_id="KETTLE-1", name="Kettle", product_count=0, actor="boss")

    # then
    assert stock() == {"KETTLE-1": 0}
    assert StockMovement.objects.count() == 0
    assert ledger_violations() == []


# --- price and threshold (SPEC §10, §11) -----------------------------------------------------


@override_settings(LOW_STOCK_THRESHOLD=9)
def test_price_defaults_to_0_and_the_threshold_to_the_setting() -> None:
    # when
    product = product_create(product_id="KETTLE-1", name="Kettle", product_count=1)

    # then
    fresh = Product.objects.get(product_id="KETTLE-1")
    assert (fresh.price, fresh.low_stock_threshold, fresh.unfilled_units) == (Decimal("0"), 9, 0)
    assert (product.price, product.low_stock_threshold) == (Decimal("0"), 9)


def test_price_and_threshold_given_are_stored() -> None:
    # when
    product_create(
        product_id="KETTLE-1",
        name="Kettle",
        product_count=1,
        price=Decimal("1000000.00"),
        low_stock_threshold=1_000_000_000,
    )

    # then
    fresh = Product.objects.get(product_id="KETTLE-1")
    assert (fresh.price, fresh.low_stock_threshold) == (Decimal("1000000.00"), 1_000_000_000)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"price": Decimal("-0.01")}, id="price-negative"),
        pytest.param({"price": Decimal("1000000.01")}, id="price-over-a-million"),
        pytest.param({"low_stock_threshold": -1}, id="threshold-negative"),
        pytest.param({"low_stock_threshold": 1_000_000_001}, id="threshold-over-a-billion"),
    ],
)
def test_values_out_of_range_are_refused_by_the_database_not_taken_for_a_duplicate(
    values: dict[str, object],
) -> None:
    # when
    with pytest.raises(IntegrityError):
        product_create(product_id="KETTLE-1", name="Kettle", product_count=1, **values)  # type: ignore[arg-type]

    # then
    assert not Product.objects.exists()
    assert not StockMovement.objects.exists()
