"""GET /products/{product_id}/movements (SPEC §11): staff read a product's ledger, newest first."""

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from orderservice.api.pagination import cursor_for
from orderservice.common import clock
from orderservice.inventory.services import product_adjust, product_restock
from tests.api.support import (
    FORBIDDEN,
    INVALID,
    PRODUCT_NOT_FOUND,
    assert_error,
    json_body,
    walk_pages,
)
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

URL = "/products/A-1/movements"
NOT_A_CURSOR = "Not a cursor from a `next` link."
REASONS = (
    "Must be one of: initial, order_placed, order_edited, order_cancelled, restock, correction, "
    "damaged, returned, found, lost."
)


@pytest.fixture
def product() -> None:
    ProductFactory.create(product_id="A-1", product_count=10)


@pytest.mark.usefixtures("product")
def test_staff_read_the_movements_newest_first(
    client_staff: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    moment = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)
    restocked = product_restock(product_id="A-1", amount=5, actor="boss")
    adjusted = product_adjust(
        product_id="A-1", delta=-3, reason="damaged", note="dropped", actor="boss"
    )

    # when
    response = client_staff.get(URL)

    # then
    assert response.status_code == 200
    body = json_body(response)
    assert body["next"] is None
    movement = adjusted.movement
    assert movement is not None
    assert body["results"][0] == {
        "movement_id": f"mov_{movement.pk}",
        "product_id": "A-1",
        "delta": -3,
        "count_after": 12,
        "reason": "damaged",
        "order_id": None,
        "actor": "boss",
        "note": "dropped",
        "created_at": "2026-11-25T10:00:00Z",
    }
    assert [(m["delta"], m["count_after"], m["reason"]) for m in body["results"]] == [
        (-3, 12, "damaged"),
        (5, 15, "restock"),
        (10, 10, "initial"),
    ]
    assert restocked.product_count == 15


@pytest.mark.usefixtures("product")
@pytest.mark.parametrize("limit", [1, 2, 7, 8, 100])
def test_movement_pages_walk_every_movement_once(client_staff: APIClient, limit: int) -> None:
    # given: 8 movements in all
    for amount in range(1, 8):
        product_restock(product_id="A-1", amount=amount, actor="boss")

    # when
    deltas, pages = walk_pages(client_staff, f"{URL}?limit={limit}", "delta")

    # then
    assert deltas == [7, 6, 5, 4, 3, 2, 1, 10]
    assert pages == max(1, -(-8 // limit))


@pytest.mark.usefixtures("product")
def test_movements_filtered_by_reason_page_through_the_filter(client_staff: APIClient) -> None:
    # given
    for amount in (1, 2, 3):
        product_restock(product_id="A-1", amount=amount, actor="boss")
        product_adjust(product_id="A-1", delta=-1, reason="lost", actor="boss")

    # when
    restocks, _ = walk_pages(client_staff, f"{URL}?reason=restock&limit=2", "delta")
    lost, _ = walk_pages(client_staff, f"{URL}?reason=lost", "delta")
    found, _ = walk_pages(client_staff, f"{URL}?reason=found", "delta")

    # then
    assert restocks == [3, 2, 1]
    assert lost == [-1, -1, -1]
    assert found == []


@pytest.mark.usefixtures("product")
def test_only_this_products_movements_are_listed(client_staff: APIClient) -> None:
    # given
    ProductFactory.create(product_id="B-2", product_count=4)

    # when
    deltas, _ = walk_pages(client_staff, URL, "delta")

    # then
    assert deltas == [10]


@pytest.mark.usefixtures("product")
@pytest.mark.parametrize("url", [URL, "/products/NOPE/movements", "/products/a%20b/movements"])
def test_non_staff_are_refused_whatever_the_product(client_user: APIClient, url: str) -> None:
    # when / then
    assert_error(client_user.get(url), 403, FORBIDDEN, "permission-denied")


@pytest.mark.usefixtures("product")
def test_an_unknown_product_is_404(client_staff: APIClient) -> None:
    # when / then
    assert_error(
        client_staff.get("/products/a-1/movements"), 404, PRODUCT_NOT_FOUND, "product-not-found"
    )


@pytest.mark.usefixtures("product")
@pytest.mark.parametrize(
    ("query", "details"),
    [
        ({"reason": "stolen"}, {"reason": [REASONS]}),
        ({"reason": ""}, {"reason": [REASONS]}),
        ({"limit": "0"}, {"limit": ["Must be an integer from 1 to 100."]}),
        ({"cursor": "%%%"}, {"cursor": [NOT_A_CURSOR]}),
        ({"cursor": "WyIxIl0"}, {"cursor": [NOT_A_CURSOR]}),  # ["1"], unsigned
        # signed, so what is tested is the shape check behind the signature
        ({"cursor": cursor_for(["x"])}, {"cursor": [NOT_A_CURSOR]}),
        ({"cursor": cursor_for(["0"])}, {"cursor": [NOT_A_CURSOR]}),
        ({"cursor": cursor_for(["1", "2"])}, {"cursor": [NOT_A_CURSOR]}),
        ({"cursor": cursor_for(["A-1"])}, {"cursor": [NOT_A_CURSOR]}),  # a product page's
    ],
    ids=[
        "reason",
        "reason-empty",
        "limit",
        "cursor-garbage",
        "cursor-unsigned",
        "cursor-text",
        "cursor-0",
        "cursor-two-ids",
        "cursor-of-products",
    ],
)
def test_a_bad_query_is_400(
    client_staff: APIClient, query: dict[str, str], details: dict[str, list[str]]
) -> None:
    # when / then
    assert_error(client_staff.get(URL, query), 400, INVALID, "invalid-request", details)


def test_a_product_id_of_the_wrong_format_is_400(client_staff: APIClient) -> None:
    # when / then
    assert_error(
        client_staff.get("/products/a%20b/movements"),
        400,
        INVALID,
        "invalid-request",
        {"product_id": ["Must be 1 to 64 characters of A-Z a-z 0-9 . _ -"]},
    )


@pytest.mark.usefixtures("product")
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_movements_are_read_only(client_staff: APIClient, client_user: APIClient, method: str):
    # when
    answers = [
        getattr(client, method)(URL, {}, format="json") for client in (client_staff, client_user)
    ]

    # then
    assert [a.status_code for a in answers] == [405, 405]
