"""Query values the schema fuzzer hardly ever sends but a client can: each is a 400, never a 500."""

import base64
from typing import Any

import pytest
from rest_framework.test import APIClient

from orderservice.api.pagination import cursor_for

pytestmark = pytest.mark.django_db

BAD_LIMIT = {"limit": ["Must be an integer from 1 to 100."]}
BAD_CURSOR = {"cursor": ["Not a cursor from a `next` link."]}


def _cursor(position: Any) -> str:
    return cursor_for(position)  # signed: what is tested is the shape check behind the signature


@pytest.mark.parametrize("path", ["/orders", "/products"])
@pytest.mark.parametrize(
    "limit",
    [
        pytest.param("²", id="superscript-two"),  # str.isdigit() is True, int() refuses it
        pytest.param("٣", id="arabic-indic-three"),
        pytest.param("1" * 5000, id="more-digits-than-int-reads"),
        pytest.param("0005", id="padded"),
    ],
)
def test_a_limit_that_is_not_plain_digits_is_400(client_user: APIClient, path: str, limit: str):
    # when
    response = client_user.get(path, {"limit": limit})

    # then
    assert response.status_code == 400
    assert response.json()["details"] == BAD_LIMIT


@pytest.mark.parametrize("path", ["/orders", "/products"])
@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param(base64.urlsafe_b64encode(b"[" * 3000).decode(), id="nested-too-deep"),
        pytest.param("A" * 600, id="too-long"),
    ],
)
def test_a_cursor_json_cannot_hold_is_400(client_user: APIClient, path: str, cursor: str):
    # when
    response = client_user.get(path, {"cursor": cursor})

    # then
    assert response.status_code == 400
    assert response.json()["details"] == BAD_CURSOR


@pytest.mark.parametrize(
    "moment",
    ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"],
    ids=["past-year-9999-in-utc", "before-year-1-in-utc"],
)
def test_an_order_cursor_time_outside_the_calendar_in_utc_is_400(
    client_user: APIClient, moment: str
):
    # when
    response = client_user.get("/orders", {"cursor": _cursor([moment, "ord_" + "0" * 24])})

    # then
    assert response.status_code == 400
    assert response.json()["details"] == BAD_CURSOR
