"""The order side of SPEC §10 and §11 over HTTP: prices and totals in every order body, the
movements orders write, and the units customers asked for and did not get."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.api.support import OUT_OF_STOCK, assert_error, json_body
from tests.factories import ProductFactory, ledger_violations

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def products() -> None:
    ProductFactory.create(product_id="SKU-1", product_count=100, price=Decimal("0.10"))
    ProductFactory.create(product_id="SKU-2", product_count=100, price=Decimal("19.99"))
    ProductFactory.create(product_id="SKU-3", product_count=2, price=Decimal("1000000.00"))


def _lines(**counts: int) -> list[dict[str, Any]]:
    return [{"product_id": p.replace("_", "-"), "item_count": n} for p, n in counts.items()]


def _place(client: APIClient, **counts: int) -> dict[str, Any]:
    response = client.post("/orders", {"products": _lines(**counts)}, format="json")
    assert response.status_code == 200, response.content
    body: dict[str, Any] = json_body(response)
    return body


def _priced(body: dict[str, Any]) -> list[tuple[str, int, str, str]]:
    return [
        (p["product_id"], p["item_count"], p["unit_price"], p["line_total"])
        for p in body["products"]
    ]


def _product(client: APIClient, product_id: str) -> dict[str, Any]:
    body: dict[str, Any] = json_body(client.get(f"/products/{product_id}"))
    return body


# --- prices and totals (SPEC §10) ------------------------------------------------------------


def test_every_order_body_carries_unit_prices_line_totals_total_and_currency(
    client_user: APIClient, client_staff: APIClient
) -> None:
    # when: placed, read, listed, edited, moved by staff
    placed = _place(client_user, SKU_1=3, SKU_2=2)
    path = f"/orders/{placed['order_id']}"
    shown = json_body(client_user.get(path))
    listed = json_body(client_user.get("/orders"))["results"][0]
    edited = json_body(client_user.patch(path, {"products": _lines(SKU_1=4)}, format="json"))
    moved = json_body(client_staff.patch(path, {"order_status": "processing"}, format="json"))

    # then: amounts are strings with two places, computed exactly ("0.10" x 3 is "0.30")
    assert _priced(placed) == [("SKU-1", 3, "0.10", "0.30"), ("SKU-2", 2, "19.99", "39.98")]
    assert (placed["total"], placed["currency"]) == ("40.28", "USD")
    for body in (shown, listed):
        assert _priced(body) == _priced(placed)
        assert (body["total"], body["currency"]) == ("40.28", "USD")
    for body in (edited, moved):
        assert _priced(body) == [("SKU-1", 4, "0.10", "0.40"), ("SKU-2", 2, "19.99", "39.98")]
        assert (body["total"], body["currency"]) == ("40.38", "USD")


def test_totals_are_exact_over_many_lines_and_large_amounts(client_user: APIClient) -> None:
    # given: 100 products at 0.10, which a float would add up wrongly
    for i in range(99):
        ProductFactory.create(product_id=f"P{i}", product_count=10, price=Decimal("0.10"))
    lines = [{"product_id": f"P{i}", "item_count": 3} for i in range(99)]
    lines.append({"product_id": "SKU-3", "item_count": 2})

    # when
    response = client_user.post("/orders", {"products": lines}, format="json")

    # then: 99 x 0.30 + 2 x 1,000,000.00
    body = json_body(response)
    assert {p["line_total"] for p in body["products"][:99]} == {"0.30"}
    assert body["products"][99]["line_total"] == "2000000.00"
    assert body["total"] == "2000029.70"


def test_a_price_change_never_changes_an_existing_order(
    client_user: APIClient, client_staff: APIClient
) -> None:
    # given
    placed = _place(client_user, SKU_1=3)
    path = f"/orders/{placed['order_id']}"

    # when
    response = client_staff.patch("/products/SKU-1", {"price": "0.25"}, format="json")
    assert response.status_code == 200

    # then: the order as placed; a resized line keeps its price too
    assert _priced(json_body(client_user.get(path))) == [("SKU-1", 3, "0.10", "0.30")]
    edited = json_body(client_user.patch(path, {"products": _lines(SKU_1=5)}, format="json"))
    assert _priced(edited) == [("SKU-1", 5, "0.10", "0.50")]
    assert edited["total"] == "0.50"


def test_a_line_added_by_patch_takes_the_price_at_that_moment(
    client_user: APIClient, client_staff: APIClient
) -> None:
    # given
    placed = _place(client_user, SKU_1=1)
    client_staff.patch("/products/SKU-2", {"price": "25.00"}, format="json")

    # when
    response = client_user.patch(
        f"/orders/{placed['order_id']}", {"products": _lines(SKU_2=2)}, format="json"
    )

    # then
    body = json_body(response)
    assert _priced(body) == [("SKU-1", 1, "0.10", "0.10"), ("SKU-2", 2, "25.00", "50.00")]
    assert body["total"] == "50.10"


def test_a_cancelled_order_keeps_its_lines_and_total(client_user: APIClient) -> None:
    # given
    placed = _place(client_user, SKU_1=3, SKU_2=1)
    path = f"/orders/{placed['order_id']}"

    # when
    assert client_user.delete(path).status_code == 200

    # then
    shown = json_body(client_user.get(path))
    assert shown["order_status"] == "cancelled"
    assert _priced(shown) == _priced(placed)
    assert shown["total"] == placed["total"] == "20.29"


@override_settings(CURRENCY="EUR")
def test_the_currency_of_orders_is_the_deployments(client_user: APIClient) -> None:
    # when
    placed = _place(client_user, SKU_1=1)

    # then
    assert placed["currency"] == "EUR"
    assert json_body(client_user.get(f"/orders/{placed['order_id']}"))["currency"] == "EUR"


# --- movements (SPEC §11) --------------------------------------------------------------------


def test_order_changes_show_in_the_products_movements(
    client_user: APIClient, client_staff: APIClient
) -> None:
    # given: placed, edited and cancelled by alice
    placed = _place(client_user, SKU_1=3)
    path = f"/orders/{placed['order_id']}"
    client_user.patch(path, {"products": _lines(SKU_1=5)}, format="json")
    client_user.delete(path)

    # when
    response = client_staff.get("/products/SKU-1/movements")

    # then: newest first
    rows = [
        (m["reason"], m["delta"], m["count_after"], m["order_id"], m["actor"])
        for m in json_body(response)["results"]
    ]
    assert rows == [
        ("order_cancelled", 5, 100, placed["order_id"], "alice"),
        ("order_edited", -2, 95, placed["order_id"], "alice"),
        ("order_placed", -3, 97, placed["order_id"], "alice"),
        ("initial", 100, 100, None, None),
    ]
    assert ledger_violations() == []


# --- unfilled units (SPEC §11) ---------------------------------------------------------------


def test_the_lines_left_out_of_a_partial_order_are_unfilled(client_user: APIClient) -> None:
    # when
    placed = _place(client_user, SKU_1=1, SKU_3=5)

    # then
    assert [s["product_id"] for s in placed["out_of_stock"]] == ["SKU-3"]
    assert _product(client_user, "SKU-3")["unfilled_units"] == 5
    assert _product(client_user, "SKU-1")["unfilled_units"] == 0


def test_a_refused_order_counts_every_line_once_and_a_replay_counts_nothing(
    client_user: APIClient,
) -> None:
    # given
    body = {"products": _lines(SKU_1=4, SKU_3=5), "fulfillment": "all_or_nothing"}
    key = {"Idempotency-Key": "refused-once"}

    # when: refused, then replayed
    first = client_user.post("/orders", body, format="json", headers=key)
    replay = client_user.post("/orders", body, format="json", headers=key)

    # then
    short = {"out_of_stock": [{"product_id": "SKU-3", "requested": 5, "available": 2}]}
    assert_error(first, 404, OUT_OF_STOCK, "product-out-of-stock", short)
    assert replay["Idempotent-Replayed"] == "true"
    assert _product(client_user, "SKU-1")["unfilled_units"] == 4
    assert _product(client_user, "SKU-3")["unfilled_units"] == 5
    assert _product(client_user, "SKU-1")["product_count"] == 100


def test_every_increase_of_a_refused_patch_is_unfilled(client_user: APIClient) -> None:
    # given
    placed = _place(client_user, SKU_1=1, SKU_3=1)

    # when: SKU-1 +2 fits, SKU-3 +2 does not (1 left)
    response = client_user.patch(
        f"/orders/{placed['order_id']}", {"products": _lines(SKU_1=3, SKU_3=3)}, format="json"
    )

    # then
    assert response.status_code == 404
    assert _product(client_user, "SKU-1")["unfilled_units"] == 2
    assert _product(client_user, "SKU-3")["unfilled_units"] == 2
    assert _product(client_user, "SKU-3")["product_count"] == 1
