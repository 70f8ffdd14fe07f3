"""/products (SPEC §6): list and detail for any user; create, set and restock for staff."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from orderservice.inventory.models import Product
from tests.api.support import INVALID, PRODUCT_NOT_FOUND, assert_error, json_body, walk_pages
from tests.factories import ProductFactory, UserFactory, place_order, stock
from tests.unit.validation_cases import (
    PRODUCT_CREATE_INVALID,
    PRODUCT_CREATE_VALID,
    PRODUCT_PATCH_INVALID,
)

pytestmark = pytest.mark.django_db

ID_RULE = {"product_id": ["Must be 1 to 64 characters of A-Z a-z 0-9 . _ -"]}


def product_json(product_id: str, name: str, count: int, **changes: Any) -> dict[str, Any]:
    """A product's body (SPEC §6, §10, §11): a new product's price, threshold and status."""
    status = "out_of_stock" if count == 0 else "low_stock" if count <= 5 else "in_stock"
    return {
        "product_id": product_id,
        "name": name,
        "product_count": count,
        "price": "0.00",
        "currency": "USD",
        "stock_status": status,
        "low_stock_threshold": 5,
        "unfilled_units": 0,
        **changes,
    }


def _rows() -> list[tuple[str, str, int]]:
    return list(
        Product.objects.order_by("product_id").values_list("product_id", "name", "product_count")
    )


# --- reading ---------------------------------------------------------------------------------


def test_any_user_lists_products_in_id_order(client_user: APIClient) -> None:
    # given
    ProductFactory.create(product_id="B-2", name="Mug", product_count=3)
    ProductFactory.create(product_id="A-1", name="Kettle", product_count=0)

    # when
    response = client_user.get("/products")

    # then
    assert response.status_code == 200
    assert json_body(response) == {
        "results": [
            product_json("A-1", "Kettle", 0),
            product_json("B-2", "Mug", 3),
        ],
        "next": None,
    }


@pytest.mark.parametrize("limit", [1, 2, 5, 6, 100])
def test_product_pages_walk_every_product_once(client_user: APIClient, limit: int) -> None:
    # given
    ids = sorted(ProductFactory.create().product_id for _ in range(6))

    # when
    seen, pages = walk_pages(client_user, f"/products?limit={limit}", "product_id")

    # then
    assert seen == ids
    assert pages == max(1, -(-6 // limit))


def test_the_default_product_page_is_20(client_user: APIClient) -> None:
    # given
    for n in range(21):
        ProductFactory.create(product_id=f"P-{n:02d}")

    # when
    page = json_body(client_user.get("/products"))

    # then
    assert len(page["results"]) == 20
    assert page["next"] is not None


@pytest.mark.parametrize("limit", ["0", "101", "x", ""])
def test_a_product_limit_out_of_range_is_400(client_user: APIClient, limit: str) -> None:
    # when
    response = client_user.get("/products", {"limit": limit})

    # then
    assert_error(
        response, 400, INVALID, "invalid-request", {"limit": ["Must be an integer from 1 to 100."]}
    )


@pytest.mark.parametrize("cursor", ["%%%", "e30", "WzFd"], ids=["garbage", "object", "number"])
def test_a_bad_product_cursor_is_400(client_user: APIClient, cursor: str) -> None:
    # when
    response = client_user.get("/products", {"cursor": cursor})

    # then
    assert_error(
        response, 400, INVALID, "invalid-request", {"cursor": ["Not a cursor from a `next` link."]}
    )


def test_any_user_reads_one_product(client_user: APIClient) -> None:
    # given
    ProductFactory.create(product_id="A-1", name="Kettle", product_count=4)

    # when
    response = client_user.get("/products/A-1")

    # then
    assert response.status_code == 200
    assert json_body(response) == product_json("A-1", "Kettle", 4)


@pytest.mark.parametrize("method", ["get", "patch"])
def test_an_unknown_product_is_404(client_staff: APIClient, method: str) -> None:
    # given
    ProductFactory.create(product_id="A-1", product_count=4)

    # when
    response = getattr(client_staff, method)("/products/a-1", {"restock": 1}, format="json")

    # then
    assert_error(response, 404, PRODUCT_NOT_FOUND, "product-not-found")
    assert stock() == {"A-1": 4}


@pytest.mark.parametrize("method", ["get", "patch"])
@pytest.mark.parametrize("product_id", ["a" * 65, "SKU%201", "SKU%2B1", "%C3%9C"])
def test_a_product_id_of_the_wrong_format_in_the_path_is_400(
    client_staff: APIClient, method: str, product_id: str
) -> None:
    # when
    response = getattr(client_staff, method)(
        f"/products/{product_id}", {"restock": 1}, format="json"
    )

    # then
    assert_error(response, 400, INVALID, "invalid-request", ID_RULE)
    assert Product.objects.count() == 0


# --- creating --------------------------------------------------------------------------------


def test_staff_create_a_product(client_staff: APIClient) -> None:
    # when
    response = client_staff.post(
        "/products",
        {"product_id": "KETTLE-1", "name": "Kettle", "product_count": 12},
        format="json",
    )

    # then
    assert response.status_code == 201
    assert json_body(response) == product_json("KETTLE-1", "Kettle", 12)
    assert response["Location"] == "/products/KETTLE-1"
    assert _rows() == [("KETTLE-1", "Kettle", 12)]


def test_an_existing_product_id_is_409_and_the_product_left_alone(client_staff: APIClient) -> None:
    # given
    ProductFactory.create(product_id="KETTLE-1", name="Kettle", product_count=12)

    # when
    response = client_staff.post(
        "/products", {"product_id": "KETTLE-1", "name": "Other", "product_count": 1}, format="json"
    )

    # then
    assert_error(response, 409, "A product with this product_id already exists.", "conflict")
    assert _rows() == [("KETTLE-1", "Kettle", 12)]


@pytest.mark.parametrize(("body", "details"), PRODUCT_CREATE_INVALID)
def test_an_invalid_product_is_400(
    client_staff: APIClient, body: Any, details: dict[str, list[str]]
) -> None:
    # when
    response = client_staff.post("/products", body, format="json")

    # then
    assert_error(response, 400, INVALID, "invalid-request", details)
    assert Product.objects.count() == 0


@pytest.mark.parametrize(("body", "validated"), PRODUCT_CREATE_VALID)
def test_a_valid_product_is_created(
    client_staff: APIClient, body: dict[str, Any], validated: dict[str, Any]
) -> None:
    # when
    response = client_staff.post("/products", body, format="json")

    # then
    assert response.status_code == 201
    assert json_body(response) == product_json(
        validated["product_id"], validated["name"], validated["product_count"]
    )
    assert _rows() == [(validated["product_id"], validated["name"], validated["product_count"])]


# --- setting and restocking ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param({"name": "Big kettle"}, ("A-1", "Big kettle", 4), id="name"),
        pytest.param({"product_count": 0}, ("A-1", "Kettle", 0), id="count"),
        pytest.param({"name": "K", "product_count": 9}, ("A-1", "K", 9), id="both"),
        pytest.param({"restock": 6}, ("A-1", "Kettle", 10), id="restock"),
    ],
)
def test_staff_set_or_restock_a_product(
    client_staff: APIClient, body: dict[str, Any], expected: tuple[str, str, int]
) -> None:
    # given
    ProductFactory.create(product_id="A-1", name="Kettle", product_count=4)
    ProductFactory.create(product_id="B-2", name="Mug", product_count=1)

    # when
    response = client_staff.patch("/products/A-1/", body, format="json")

    # then
    assert response.status_code == 200
    product_id, name, count = expected
    assert json_body(response) == product_json(product_id, name, count)
    assert _rows() == [expected, ("B-2", "Mug", 1)]


def test_restock_adds_to_what_orders_left(client_staff: APIClient) -> None:
    # given
    ProductFactory.create(product_id="A-1", name="Kettle", product_count=4)
    place_order(user=UserFactory.create(), lines={"A-1": 3})

    # when
    first = client_staff.patch("/products/A-1", {"restock": 5}, format="json")
    second = client_staff.patch("/products/A-1", {"restock": 1}, format="json")

    # then
    assert json_body(first)["product_count"] == 6
    assert json_body(second)["product_count"] == 7
    assert stock() == {"A-1": 7}


def test_stock_set_to_zero_makes_orders_for_it_404(
    client_staff: APIClient, client_user: APIClient
) -> None:
    # given
    ProductFactory.create(product_id="A-1", product_count=4)
    client_staff.patch("/products/A-1", {"product_count": 0}, format="json")

    # when
    response = client_user.post(
        "/orders", {"products": [{"product_id": "A-1", "item_count": 1}]}, format="json"
    )

    # then
    assert response.status_code == 404
    assert json_body(response)["details"] == {
        "out_of_stock": [{"product_id": "A-1", "requested": 1, "available": 0}]
    }
    assert stock() == {"A-1": 0}


@pytest.mark.parametrize(("body", "details"), PRODUCT_PATCH_INVALID)
def test_an_invalid_product_change_is_400(
    client_staff: APIClient, body: Any, details: dict[str, list[str]]
) -> None:
    # given
    ProductFactory.create(product_id="A-1", name="Kettle", product_count=4)

    # when
    response = client_staff.patch("/products/A-1", body, format="json")

    # then
    assert_error(response, 400, INVALID, "invalid-request", details)
    assert _rows() == [("A-1", "Kettle", 4)]
