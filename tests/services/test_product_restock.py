"""inventory.services.product_restock: add units to stock, whatever orders took meanwhile."""

import pytest

from orderservice.inventory.exceptions import ProductNotFound
from orderservice.inventory.services import product_restock
from tests.factories import ProductFactory, UserFactory, place_order, stock

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
