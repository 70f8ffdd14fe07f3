"""A `cursor` is only ever one this server signed, of the endpoint's shape: anything else, however
it was made, is a 400 (never a 500 from the database), and `next` links work page after page."""

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from rest_framework.test import APIClient

from orderservice.api.pagination import MAX_CURSOR_LENGTH, cursor_for
from tests.api.support import INVALID, MISSING_ORDER_ID, assert_error, json_body
from tests.factories import ProductFactory, UserFactory, place_order

pytestmark = pytest.mark.django_db

BAD_CURSOR = {"cursor": ["Not a cursor from a `next` link."]}
TIME = "2026-01-01T00:00:00.123456+00:00"
# A position each endpoint could have put in a `next` link.
VALID = {"/products": ["SKU-1"], "/orders": [TIME, MISSING_ORDER_ID]}


def _unsigned(json_text: str) -> str:
    """The old, unsigned form: base64 of the JSON text (written out, to hold any escape)."""
    return base64.urlsafe_b64encode(json_text.encode()).decode().rstrip("=")


def _signed(position: Any) -> str:
    return cursor_for(position)


def _flip_last(text: str) -> str:
    return text[:-1] + ("A" if text[-1] != "A" else "B")


TAMPERED: dict[str, list[Any]] = {
    "/products": [
        pytest.param("WyJhXHUwMDAwIl0", id="nul-unsigned"),  # ["a\u0000"], issue 12's own
        pytest.param(_unsigned('["\\ud800"]'), id="lone-surrogate-unsigned"),
        pytest.param(_unsigned('["SKU-1"]'), id="old-style-unsigned"),
        pytest.param(_signed(["a\x00"]), id="nul-signed"),
        pytest.param(_signed(["\ud800"]), id="lone-surrogate-signed"),
        pytest.param(_signed(["SKU 1"]), id="not-a-product-id"),
        pytest.param(_signed(["x" * 65]), id="product-id-too-long"),
        pytest.param(_signed([1]), id="a-number"),
        pytest.param(_signed(["SKU-1", "SKU-2"]), id="two-elements"),
        pytest.param(_signed([]), id="no-element"),
        pytest.param(_signed({"a": "SKU-1"}), id="an-object"),
        pytest.param(_signed("SKU-1"), id="a-string"),
        pytest.param(_signed(None), id="null"),
        pytest.param(_signed(VALID["/orders"]), id="another-endpoints-cursor"),
    ],
    "/orders": [
        pytest.param(_unsigned(f'["{TIME}", "ord_\\u0000"]'), id="nul-unsigned"),
        pytest.param(_unsigned(f'["{TIME}", "\\udfff"]'), id="lone-surrogate-unsigned"),
        pytest.param(_unsigned(json.dumps(VALID["/orders"])), id="old-style-unsigned"),
        pytest.param(_signed([TIME, "ord_\x00"]), id="nul-signed"),
        pytest.param(_signed([TIME + "\x00", MISSING_ORDER_ID]), id="nul-in-time-signed"),
        pytest.param(_signed([TIME, "\ud800"]), id="lone-surrogate-signed"),
        pytest.param(_signed([TIME, "ord_x"]), id="not-an-order-id"),
        pytest.param(_signed([TIME, "ORD_" + "0" * 24]), id="order-id-wrong-case"),
        pytest.param(_signed([MISSING_ORDER_ID, TIME]), id="swapped"),
        pytest.param(_signed(["2026-01-01T00:00:00", MISSING_ORDER_ID]), id="time-without-zone"),
        pytest.param(_signed(["2026-01-01", MISSING_ORDER_ID]), id="a-date"),
        pytest.param(_signed(["2026-13-01T00:00:00+00:00", MISSING_ORDER_ID]), id="month-13"),
        pytest.param(_signed([1767225600, MISSING_ORDER_ID]), id="a-number"),
        pytest.param(_signed([TIME]), id="one-element"),
        pytest.param(_signed({"at": TIME, "id": MISSING_ORDER_ID}), id="an-object"),
        pytest.param(_signed(VALID["/products"]), id="another-endpoints-cursor"),
    ],
}
# Forms that are wrong in the same way on both endpoints.
EITHER: list[Any] = [
    pytest.param("", id="empty"),
    pytest.param("%%%", id="not-base64"),
    pytest.param(_signed(["SKU-1"]).split(":")[0], id="signature-cut-off"),
    pytest.param(_signed(["SKU-1"])[:-1], id="signature-truncated"),
    pytest.param(_flip_last(_signed(["SKU-1"])), id="signature-altered"),
    pytest.param(
        _signed(["SKU-2"]).split(":")[0] + ":" + _signed(["SKU-1"]).split(":")[1],
        id="signature-of-another-cursor",
    ),  # fmt: skip
    pytest.param(signing.dumps(["SKU-1"]), id="signed-with-another-salt"),
    pytest.param(signing.Signer(key="not-the-secret-key").sign_object(["SKU-1"]), id="other-key"),
    pytest.param("A" * (MAX_CURSOR_LENGTH + 1), id="just-too-long"),
    pytest.param("A" * 100_000, id="huge"),
    pytest.param(_signed(["x" * 10_000]), id="huge-signed"),
]


@pytest.mark.parametrize("cursor", TAMPERED["/products"] + EITHER)
def test_a_product_cursor_not_from_a_next_link_is_400(client_user: APIClient, cursor: str):
    assert_error(
        client_user.get("/products", {"cursor": cursor}),
        400,
        INVALID,
        "invalid-request",
        BAD_CURSOR,
    )


@pytest.mark.parametrize("cursor", TAMPERED["/orders"] + EITHER)
def test_an_order_cursor_not_from_a_next_link_is_400(client_user: APIClient, cursor: str):
    assert_error(
        client_user.get("/orders", {"cursor": cursor}), 400, INVALID, "invalid-request", BAD_CURSOR
    )


@pytest.mark.parametrize("path", ["/products", "/orders"])
def test_a_signed_cursor_of_the_endpoints_shape_is_accepted(client_user: APIClient, path: str):
    response = client_user.get(path, {"cursor": _signed(VALID[path])})

    assert response.status_code == 200, response.content


def _walk(client: APIClient, path: str, key: str) -> tuple[list[str], list[str]]:
    """Every id on every page, following `next`; and each page's cursor."""
    ids: list[str] = []
    cursors: list[str] = []
    url: str | None = f"{path}?limit=2"
    while url is not None:
        assert len(cursors) < 10
        page = json_body(client.get(url))
        ids.extend(item[key] for item in page["results"])
        url = page["next"]
        if url is not None:
            [cursor] = parse_qs(urlsplit(url).query)["cursor"]
            cursors.append(cursor)
    return ids, cursors


def test_next_links_walk_every_product_page_after_page(client_user: APIClient):
    # given
    for n in range(5):
        ProductFactory.create(product_id=f"P-{n}")

    # when
    ids, cursors = _walk(client_user, "/products", "product_id")

    # then
    assert ids == [f"P-{n}" for n in range(5)]
    assert len(cursors) == 2
    assert all(len(c) <= MAX_CURSOR_LENGTH for c in cursors)


def test_next_links_walk_every_order_page_after_page(client_user: APIClient):
    # given
    ProductFactory.create(product_id="SKU-1", product_count=100)
    alice = UserFactory.create(username="alice")
    placed = [place_order(user=alice, lines={"SKU-1": 1}).id for _ in range(5)]

    # when
    ids, cursors = _walk(client_user, "/orders", "order_id")

    # then: newest first, each order once
    assert sorted(ids) == sorted(placed)
    assert len(ids) == 5
    assert len(cursors) == 2
    assert all(len(c) <= MAX_CURSOR_LENGTH for c in cursors)
