"""A first end-to-end pass through the API: place, view, edit, cancel."""

import pytest

from orderservice.inventory.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_place_view_edit_cancel_moves_stock_exactly(client_user):
    # given
    ProductFactory(product_id="SKU-1", product_count=5)
    ProductFactory(product_id="SKU-2", product_count=1)

    # when
    placed = client_user.post(
        "/orders", {"products": [{"product_id": "SKU-1", "item_count": 2}]}, format="json"
    )
    order_id = placed.json()["order_id"]
    edited = client_user.patch(
        f"/orders/{order_id}/",
        {
            "products": [
                {"product_id": "SKU-1", "item_count": 0},
                {"product_id": "SKU-2", "item_count": 1},
            ]
        },
        format="json",
        HTTP_IF_MATCH=placed["ETag"],
    )
    cancelled = client_user.delete(f"/orders/{order_id}", HTTP_IF_MATCH=edited["ETag"])

    # then
    assert placed.status_code == 200
    assert placed["Location"] == f"/orders/{order_id}"
    assert edited.status_code == 200, edited.json()
    assert edited.json()["changes"] == [
        {"product_id": "SKU-1", "from": 2, "to": 0},
        {"product_id": "SKU-2", "from": 0, "to": 1},
    ]
    assert cancelled.status_code == 200
    assert cancelled.json() == {"message": "Order successfully cancelled"}
    assert dict(Product.objects.values_list("product_id", "product_count")) == {
        "SKU-1": 5,
        "SKU-2": 1,
    }
