"""A method a product endpoint lacks is a 405 for every user, not a 403 for non-staff."""

import pytest

from orderservice.inventory.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/products/SKU-1"),
        ("put", "/products/SKU-1"),
        ("put", "/products"),
        ("delete", "/products/"),
    ],
)
def test_missing_method_is_405_for_non_staff(client_user, method, path):
    # given
    ProductFactory.create(product_id="SKU-1", product_count=3)

    # when
    response = getattr(client_user, method)(path)

    # then
    assert response.status_code == 405
    assert response.json()["error"] == "Method not allowed."
    assert "GET" in response["Allow"]
    assert Product.objects.get(product_id="SKU-1").product_count == 3


def test_existing_write_method_is_still_403_for_non_staff(client_user):
    ProductFactory.create(product_id="SKU-1", product_count=3)

    response = client_user.patch("/products/SKU-1", {"restock": 1}, format="json")

    assert response.status_code == 403
    assert Product.objects.get(product_id="SKU-1").product_count == 3
