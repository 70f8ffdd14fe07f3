"""inventory.services.product_restock: add units to stock, whatever orders took meanwhile."""

import pytest

from orderservice.inventory.exceptions import ProductNotFound
from orderservice.inventory.services import product_restock
from tests.factories import (
    ProductFactory,
    UserFactory,
    ledger_violations,
    movements,
    place_order,
    stock,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def products() -> None:
    ProductFactory.create(product_id="A", product_count=5)
    ProductFactory.create(product_id="B", product_count=2)


@pytest.mark.usefixtures("products")
def test_restock_adds_to_the_current_stock() -> None:
    # when
    product = product_restock(product_id="A", amount=3)

    # then
    assert product.product_count == 8
    assert stock() == {"A": 8, "B": 2}


@pytest.mark.usefixtures("products")
def test_restock_adds_to_what_orders_left_not_to_a_stale_value() -> None:
    # given
    place_order(user=UserFactory.create(), lines={"A": 4})

    # when
    product_restock(product_id="A", amount=10)
    product = product_restock(product_id="A", amount=1)

    # then
    assert product.product_count == 12
    assert stock() == {"A": 12, "B": 2}


@pytest.mark.usefixtures("products")
def test_restock_beyond_a_billion_in_total_is_kept_exactly() -> None:
    # when
    product_restock(product_id="B", amount=1_000_000_000)
    product = product_restock(product_id="B", amount=1_000_000_000)

    # then
    assert product.product_count == 2_000_000_002
    assert stock()["B"] == 2_000_000_002


@pytest.mark.usefixtures("products")
def test_restock_of_an_unknown_product_is_not_found() -> None:
    # when
    with pytest.raises(ProductNotFound):
        product_restock(product_id="NOPE", amount=1)

    # then
    assert stock() == {"A": 5, "B": 2}


# --- the ledger (SPEC §11) -------------------------------------------------------------------


@pytest.mark.usefixtures("products")
def test_restock_writes_a_restock_movement_with_the_new_count() -> None:
    # when
    product_restock(product_id="A", amount=3, actor="boss")
    product_restock(product_id="A", amount=1_000_000_000)

    # then
    assert movements("A") == [
        (5, 5, "initial", None, None),
        (3, 8, "restock", "boss", None),
        (1_000_000_000, 1_000_000_008, "restock", None, None),
    ]
    assert ledger_violations() == []


@pytest.mark.usefixtures("products")
def test_a_restock_movement_counts_from_what_orders_left() -> None:
    # given
    place_order(user=UserFactory.create(), lines={"A": 4})

    # when
    product_restock(product_id="A", amount=10, actor="boss")

    # then
    assert movements("A")[-1] == (10, 11, "restock", "boss", None)


@pytest.mark.usefixtures("products")
def test_restock_of_an_unknown_product_writes_no_movement() -> None:
    # when
    with pytest.raises(ProductNotFound):
        product_restock(product_id="NOPE", amount=1, actor="boss")

    # then
    assert [len(movements(p)) for p in ("A", "B")] == [1, 1]
