"""inventory.services.product_update: set a product's name and/or stock level."""

import pytest

from orderservice.inventory.exceptions import ProductNotFound
from orderservice.inventory.models import Product
from orderservice.inventory.services import product_update
from tests.factories import ProductFactory, stock

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
