"""/products with prices (SPEC §10), stock status and thresholds (§11), and the movements their
stock changes write."""

from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from orderservice.inventory.models import Product, StockMovement
from tests.api.support import INVALID, assert_error, json_body
from tests.factories import ProductFactory, ledger_violations, movements
from tests.unit.ledger_validation_cases import (
    PRICE_INVALID,
    PRICE_RULE,
    PRICE_VALID,
    THRESHOLD_INVALID,
)

pytestmark = pytest.mark.django_db

NEW = {"product_id": "KETTLE-1", "name": "Kettle"}


def _prices() -> dict[str, str]:
    return {p.product_id: f"{p.price:.2f}" for p in Product.objects.all()}


# --- bodies --------------------------------------------------------------------------------


def test_a_product_body_carries_price_currency_status_threshold_and_unfilled_units(
    client_user: APIClient,
) -> None:
    # given
    ProductFactory.create(
        product_id="A-1", name="Kettle", product_count=3, price="12.5", low_stock_threshold=3
    )

    # when
    response = client_user.get("/products/A-1")

    # then
    assert json_body(response) == {
        "product_id": "A-1",
        "name": "Kettle",
        "product_count": 3,
        "price": "12.50",
        "currency": "USD",
        "stock_status": "low_stock",
        "low_stock_threshold": 3,
        "unfilled_units": 0,
    }


@override_settings(CURRENCY="EUR")
def test_the_currency_is_the_deployments(client_user: APIClient) -> None:
    # given
    ProductFactory.create(product_id="A-1")

    # when / then
    assert json_body(client_user.get("/products/A-1"))["currency"] == "EUR"


@pytest.mark.parametrize(
    ("count", "threshold", "status"),
    [(0, 5, "out_of_stock"), (1, 5, "low_stock"), (5, 5, "low_stock"), (6, 5, "in_stock"),
     (1, 0, "in_stock"), (0, 0, "out_of_stock")],
)  # fmt: skip
def test_stock_status_follows_count_and_threshold(
    client_user: APIClient, count: int, threshold: int, status: str
) -> None:
    # given
    ProductFactory.create(product_id="A-1", product_count=count, low_stock_threshold=threshold)

    # when / then
    assert json_body(client_user.get("/products/A-1"))["stock_status"] == status


# --- creating and setting ----------------------------------------------------------------


@pytest.mark.parametrize(("price", "shown"), PRICE_VALID)
def test_a_valid_price_is_stored_exactly_and_shown_with_two_places(
    client_staff: APIClient, price: str, shown: str
) -> None:
    # when
    created = client_staff.post("/products", {**NEW, "price": price}, format="json")
    patched = client_staff.patch("/products/KETTLE-1", {"price": price}, format="json")

    # then
    assert (created.status_code, patched.status_code) == (201, 200)
    assert json_body(created)["price"] == json_body(patched)["price"] == shown
    assert _prices() == {"KETTLE-1": shown}


@pytest.mark.parametrize("price", PRICE_INVALID)
def test_an_invalid_price_is_400_naming_it_and_nothing_is_stored(
    client_staff: APIClient, price: Any
) -> None:
    # given
    ProductFactory.create(product_id="A-1", price="3.00")

    # when
    created = client_staff.post("/products", {**NEW, "price": price}, format="json")
    patched = client_staff.patch("/products/A-1", {"price": price}, format="json")

    # then
    for response in (created, patched):
        assert_error(response, 400, INVALID, "invalid-request", {"price": [PRICE_RULE]})
    assert _prices() == {"A-1": "3.00"}


@override_settings(LOW_STOCK_THRESHOLD=2)
def test_a_new_product_defaults_to_price_0_and_the_threshold_setting(
    client_staff: APIClient,
) -> None:
    # when
    response = client_staff.post("/products", {**NEW, "product_count": 2}, format="json")

    # then
    body = json_body(response)
    assert (body["price"], body["low_stock_threshold"], body["stock_status"]) == (
        "0.00",
        2,
        "low_stock",
    )


def test_staff_set_price_and_threshold_and_nothing_else_changes(client_staff: APIClient) -> None:
    # given
    ProductFactory.create(product_id="A-1", name="Kettle", product_count=8, price="1.00")

    # when
    response = client_staff.patch(
        "/products/A-1", {"price": "2.5", "low_stock_threshold": 10}, format="json"
    )

    # then
    body = json_body(response)
    assert (body["name"], body["product_count"], body["price"]) == ("Kettle", 8, "2.50")
    assert (body["low_stock_threshold"], body["stock_status"]) == (10, "low_stock")
    assert len(movements("A-1")) == 1


@pytest.mark.parametrize(("threshold", "message"), THRESHOLD_INVALID)
def test_an_invalid_threshold_is_400_naming_it(
    client_staff: APIClient, threshold: Any, message: str
) -> None:
    # given
    ProductFactory.create(product_id="A-1", low_stock_threshold=4)

    # when
    created = client_staff.post(
        "/products", {**NEW, "low_stock_threshold": threshold}, format="json"
    )
    patched = client_staff.patch("/products/A-1", {"low_stock_threshold": threshold}, format="json")

    # then
    for response in (created, patched):
        assert_error(response, 400, INVALID, "invalid-request", {"low_stock_threshold": [message]})
    assert list(Product.objects.values_list("product_id", "low_stock_threshold")) == [("A-1", 4)]


@pytest.mark.parametrize("field", ["price", "low_stock_threshold"])
def test_non_staff_cannot_set_price_or_threshold(client_user: APIClient, field: str) -> None:
    # given
    ProductFactory.create(product_id="A-1", price="3.00", low_stock_threshold=4)

    # when
    response = client_user.patch(
        "/products/A-1", {field: "1" if field == "price" else 1}, format="json"
    )

    # then
    assert response.status_code == 403
    assert (_prices(), Product.objects.get().low_stock_threshold) == ({"A-1": "3.00"}, 4)


# --- filtering by stock status -------------------------------------------------------------


@pytest.fixture
def shelf() -> None:
    ProductFactory.create(product_id="A", product_count=0)
    ProductFactory.create(product_id="B", product_count=3, low_stock_threshold=5)
    ProductFactory.create(product_id="C", product_count=3, low_stock_threshold=2)
    ProductFactory.create(product_id="D", product_count=50, low_stock_threshold=50)
    ProductFactory.create(product_id="E", product_count=1, low_stock_threshold=0)


@pytest.mark.usefixtures("shelf")
@pytest.mark.parametrize(
    ("status", "ids"),
    [("out_of_stock", ["A"]), ("low_stock", ["B", "D"]), ("in_stock", ["C", "E"])],
)
def test_products_filtered_by_stock_status(
    client_user: APIClient, status: str, ids: list[str]
) -> None:
    # when
    page = json_body(client_user.get("/products", {"stock_status": status}))

    # then
    assert [p["product_id"] for p in page["results"]] == ids
    assert {p["stock_status"] for p in page["results"]} == {status}


@pytest.mark.usefixtures("shelf")
def test_a_filtered_list_pages_through_the_filter(client_user: APIClient) -> None:
    # when
    first = json_body(client_user.get("/products", {"stock_status": "low_stock", "limit": "1"}))
    second = json_body(client_user.get(first["next"]))

    # then
    assert [p["product_id"] for p in first["results"] + second["results"]] == ["B", "D"]
    assert second["next"] is None


@pytest.mark.parametrize("status", ["LOW_STOCK", "low", "", "sold_out"])
def test_an_unknown_stock_status_is_400(client_user: APIClient, status: str) -> None:
    # when
    response = client_user.get("/products", {"stock_status": status})

    # then
    assert_error(
        response,
        400,
        INVALID,
        "invalid-request",
        {"stock_status": ["Must be one of: out_of_stock, low_stock, in_stock."]},
    )


# --- the ledger (SPEC §11): stock changes over /products are movements by the staff user ----


def test_create_set_and_restock_write_their_movements_with_the_staff_user(
    client_staff: APIClient,
) -> None:
    # when
    client_staff.post("/products", {**NEW, "product_count": 12}, format="json")
    client_staff.patch("/products/KETTLE-1", {"product_count": 7}, format="json")
    client_staff.patch("/products/KETTLE-1", {"product_count": 7, "name": "K"}, format="json")
    client_staff.patch("/products/KETTLE-1", {"restock": 5}, format="json")

    # then
    assert movements("KETTLE-1") == [
        (12, 12, "initial", "boss", None),
        (-5, 7, "correction", "boss", None),
        (5, 12, "restock", "boss", None),
    ]
    assert ledger_violations() == []


def test_a_product_created_without_stock_has_no_movement(client_staff: APIClient) -> None:
    # when
    client_staff.post("/products", NEW, format="json")

    # then
    assert not StockMovement.objects.exists()
