"""inventory.services.product_update: set a product's name and/or stock level."""

from decimal import Decimal

import pytest

from orderservice.inventory.exceptions import ProductNotFound
from orderservice.inventory.models import Product, StockMovement
from orderservice.inventory.services import product_update
from tests.factories import ProductFactory, ledger_violations, movements, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def products() -> None:
    ProductFactory.create(product_id="A", name="Kettle", product_count=5)
    ProductFactory.create(product_id="B", name="Mug", product_count=2)


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"name": "Big kettle"}, ("Big kettle", 5), id="name"),
        pytest.param({"product_count": 0}, ("Kettle", 0), id="count-to-0"),
        pytest.param({"product_count": 1_000_000_000}, ("Kettle", 1_000_000_000), id="count-up"),
        pytest.param({"name": "Big kettle", "product_count": 9}, ("Big kettle", 9), id="both"),
    ],
)
def test_update_sets_the_values_given(
    changes: dict[str, object], expected: tuple[str, int]
) -> None:
    # given
    before = Product.objects.get(product_id="A").updated_at

    # when
    product = product_update(product_id="A", **changes)  # type: ignore[arg-type]

    # then
    assert (product.name, product.product_count) == expected
    fresh = Product.objects.get(product_id="A")
    assert (fresh.name, fresh.product_count) == expected
    assert fresh.updated_at >= before
    assert Product.objects.values_list("name", "product_count").get(product_id="B") == ("Mug", 2)


@pytest.mark.usefixtures("products")
def test_an_unknown_product_is_not_found() -> None:
    # when
    with pytest.raises(ProductNotFound):
        product_update(product_id="NOPE", product_count=3)

    # then
    assert stock() == {"A": 5, "B": 2}
    assert not Product.objects.filter(product_id="NOPE").exists()


# --- the ledger (SPEC §11): a new stock level is a correction -----------------------------------


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize(("count", "delta"), [(9, 4), (0, -5), (1_000_000_000, 999_999_995)])
def test_a_new_stock_level_writes_a_correction_of_the_difference(count: int, delta: int) -> None:
    # when
    product_update(product_id="A", product_count=count, actor="boss")

    # then
    assert movements("A") == [
        (5, 5, "initial", None, None),
        (delta, count, "correction", "boss", None),
    ]
    assert movements("B") == [(2, 2, "initial", None, None)]
    assert ledger_violations() == []


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"product_count": 5}, id="same-count"),
        pytest.param({"name": "Big kettle"}, id="name-only"),
        pytest.param({"price": Decimal("3.50"), "low_stock_threshold": 0}, id="price-threshold"),
    ],
)
def test_no_change_of_stock_writes_no_movement(changes: dict[str, object]) -> None:
    # when
    product_update(product_id="A", actor="boss", **changes)  # type: ignore[arg-type]

    # then
    assert StockMovement.objects.filter(product_id="A").count() == 1
    assert stock() == {"A": 5, "B": 2}


@pytest.mark.usefixtures("products")
def test_price_and_threshold_are_set_and_the_rest_kept() -> None:
    # when
    product = product_update(product_id="A", price=Decimal("12.5"), low_stock_threshold=0)

    # then
    assert (product.price, product.low_stock_threshold) == (Decimal("12.50"), 0)
    fresh = Product.objects.get(product_id="A")
    assert (fresh.name, fresh.product_count, fresh.price, fresh.low_stock_threshold) == (
        "Kettle",
        5,
        Decimal("12.50"),
        0,
    )


@pytest.mark.usefixtures("products")
def test_an_unknown_product_writes_no_movement() -> None:
    # when
    with pytest.raises(ProductNotFound):
        product_update(product_id="NOPE", product_count=3, actor="boss")

    # then
    assert StockMovement.objects.count() == 2
