"""POST /products/{product_id}/adjustments (SPEC §11): staff move stock for a reason, with an
optional expected_count, and an Idempotency-Key as on POST /orders."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from orderservice.idempotency.models import IdempotencyKey
from orderservice.inventory import services
from orderservice.inventory.models import StockMovement
from tests.api.support import FORBIDDEN, INVALID, PRODUCT_NOT_FOUND, assert_error, json_body
from tests.factories import ProductFactory, ledger_violations, movements, stock
from tests.unit.ledger_validation_cases import ADJUSTMENT_INVALID, ADJUSTMENT_VALID

pytestmark = pytest.mark.django_db

URL = "/products/A-1/adjustments"
INITIAL = [(10, 10, "initial", None, None)]
COUNT_CHANGED = (
    "The stock is not the expected_count: it changed since it was counted. Count again, or send "
    "the adjustment without expected_count."
)
BELOW_ZERO = "The adjustment would take the stock below 0."


@pytest.fixture
def product() -> None:
    ProductFactory.create(product_id="A-1", name="Kettle", product_count=10, price="4.50")


def post(client: APIClient, body: Any, key: str | None = None, url: str = URL) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(url, body, format="json", headers=headers)


@pytest.mark.usefixtures("product")
def test_staff_adjust_by_a_delta_and_get_the_movement_and_the_product(
    client_staff: APIClient,
) -> None:
    # when
    response = post(client_staff, {"delta": -3, "reason": "damaged", "note": "dropped"})

    # then
    assert response.status_code == 201, response.content
    body = json_body(response)
    movement = StockMovement.objects.get(reason="damaged")
    assert body["movement"] == {
        "movement_id": f"mov_{movement.pk}",
        "product_id": "A-1",
        "delta": -3,
        "count_after": 7,
        "reason": "damaged",
        "order_id": None,
        "actor": "boss",
        "note": "dropped",
        "created_at": body["movement"]["created_at"],
    }
    assert body["product"] == {
        "product_id": "A-1",
        "name": "Kettle",
        "product_count": 7,
        "price": "4.50",
        "currency": "USD",
        "stock_status": "in_stock",
        "low_stock_threshold": 5,
        "unfilled_units": 0,
    }
    assert stock() == {"A-1": 7}
    assert movements("A-1") == [*INITIAL, (-3, 7, "damaged", "boss", "dropped")]


@pytest.mark.usefixtures("product")
@pytest.mark.parametrize(
    ("body", "after", "delta"),
    [
        ({"set_to": 4, "reason": "lost"}, 4, -6),
        ({"set_to": 0, "reason": "correction", "expected_count": 10}, 0, -10),
        ({"delta": 5, "reason": "returned", "expected_count": 10}, 15, 5),
        ({"delta": -10, "reason": "lost"}, 0, -10),
        ({"delta": 1_000_000_000, "reason": "found"}, 1_000_000_010, 1_000_000_000),
    ],
)
def test_each_adjustment_moves_the_stock_and_is_recorded(
    client_staff: APIClient, body: dict[str, Any], after: int, delta: int
) -> None:
    # when
    response = post(client_staff, body)

    # then
    assert response.status_code == 201, response.content
    answer = json_body(response)
    assert (answer["movement"]["delta"], answer["movement"]["count_after"]) == (delta, after)
    assert answer["product"]["product_count"] == after
    assert stock() == {"A-1": after}
    assert ledger_violations() == []


@pytest.mark.usefixtures("product")
def test_set_to_the_current_stock_answers_201_with_no_movement(client_staff: APIClient) -> None:
    # when
    response = post(client_staff, {"set_to": 10, "reason": "correction", "expected_count": 10})

    # then
    assert response.status_code == 201
    assert json_body(response)["movement"] is None
    assert json_body(response)["product"]["product_count"] == 10
    assert movements("A-1") == INITIAL


@pytest.mark.usefixtures("product")
@pytest.mark.parametrize("expected", [9, 11, 0])
def test_a_stale_expected_count_is_409_with_the_current_count_and_nothing_changes(
    client_staff: APIClient, expected: int
) -> None:
    # when
    response = post(client_staff, {"set_to": 4, "reason": "correction", "expected_count": expected})

    # then
    assert_error(response, 409, COUNT_CHANGED, "conflict", {"product_count": 10})
    assert stock() == {"A-1": 10}
    assert movements("A-1") == INITIAL


@pytest.mark.usefixtures("product")
def test_a_delta_below_zero_is_409_and_nothing_changes(client_staff: APIClient) -> None:
    # when
    response = post(client_staff, {"delta": -11, "reason": "lost"})

    # then
    assert_error(response, 409, BELOW_ZERO, "conflict", {"product_count": 10})
    assert stock() == {"A-1": 10}
    assert movements("A-1") == INITIAL


@pytest.mark.usefixtures("product")
@pytest.mark.parametrize(("body", "details"), ADJUSTMENT_INVALID)
def test_an_invalid_adjustment_is_400_and_nothing_changes(
    client_staff: APIClient, body: Any, details: dict[str, list[str]]
) -> None:
    # when
    response = post(client_staff, body, key="k")

    # then
    assert_error(response, 400, INVALID, "invalid-request", details)
    assert stock() == {"A-1": 10}
    assert movements("A-1") == INITIAL
    assert not IdempotencyKey.objects.exists()


@pytest.mark.usefixtures("product")
@pytest.mark.parametrize(("body", "arguments"), ADJUSTMENT_VALID)
def test_a_valid_adjustment_reaches_product_adjust_as_sent(
    client_staff: APIClient,
    monkeypatch: pytest.MonkeyPatch,
    body: Any,
    arguments: dict[str, Any],
) -> None:
    # given
    calls: list[dict[str, Any]] = []
    real = services.product_adjust

    def recording(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, "product_adjust", recording)

    # when
    response = post(client_staff, body)

    # then: called as sent (an expected_count of 0 is then refused: the stock is 10)
    assert response.status_code in (201, 409), response.content
    assert calls == [{"product_id": "A-1", **arguments, "actor": "boss"}]


@pytest.mark.usefixtures("product")
@pytest.mark.parametrize("url", [URL, "/products/NOPE/adjustments"])
def test_non_staff_are_refused_and_nothing_changes(client_user: APIClient, url: str) -> None:
    # when
    response = post(client_user, {"delta": 1, "reason": "found"}, url=url)

    # then
    assert_error(response, 403, FORBIDDEN, "permission-denied")
    assert movements("A-1") == INITIAL


@pytest.mark.usefixtures("product")
def test_an_unknown_product_is_404(client_staff: APIClient) -> None:
    # when / then
    assert_error(
        post(client_staff, {"delta": 1, "reason": "found"}, url="/products/a-1/adjustments"),
        404,
        PRODUCT_NOT_FOUND,
        "product-not-found",
    )


@pytest.mark.usefixtures("product")
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_only_post_is_allowed(client_staff: APIClient, client_user: APIClient, method: str):
    # when
    answers = [getattr(c, method)(URL, {}, format="json") for c in (client_staff, client_user)]

    # then
    assert [a.status_code for a in answers] == [405, 405]


# --- Idempotency-Key --------------------------------------------------------------------------


@pytest.mark.usefixtures("product")
def test_a_repeat_with_the_key_replays_the_201_and_adjusts_once(client_staff: APIClient) -> None:
    # given
    body = {"delta": -2, "reason": "damaged"}
    first = post(client_staff, body, key="take-2")

    # when
    second = post(client_staff, body, key="take-2")
    third = post(client_staff, body, key="take-2", url=f"{URL}/")

    # then
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    for replay in (second, third):
        assert replay.status_code == 201
        assert replay["Idempotent-Replayed"] == "true"
        assert replay.content == first.content
    assert stock() == {"A-1": 8}
    assert movements("A-1") == [*INITIAL, (-2, 8, "damaged", "boss", None)]


@pytest.mark.usefixtures("product")
def test_the_key_with_another_body_is_422(client_staff: APIClient) -> None:
    # given
    post(client_staff, {"delta": -2, "reason": "damaged"}, key="k")

    # when
    response = post(client_staff, {"delta": -3, "reason": "damaged"}, key="k")

    # then
    assert_error(
        response, 422, "Idempotency key reused with a different request.", "idempotency-key-reused"
    )
    assert stock() == {"A-1": 8}


@pytest.mark.usefixtures("product")
def test_a_refusal_is_not_stored_so_a_retry_runs_afresh(client_staff: APIClient) -> None:
    # given: a count that missed a change is refused
    body = {"set_to": 4, "reason": "correction", "expected_count": 12}
    refused = post(client_staff, body, key="count-1")
    services.product_restock(product_id="A-1", amount=2, actor="boss")

    # when: the same request again, now that the stock is 12
    retried = post(client_staff, body, key="count-1")

    # then
    assert refused.status_code == 409
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert stock() == {"A-1": 4}


@pytest.mark.usefixtures("product")
@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9"])
def test_a_malformed_key_is_400_and_nothing_changes(client_staff: APIClient, key: str) -> None:
    # when
    response = post(client_staff, {"delta": 1, "reason": "found"}, key=key)

    # then
    assert_error(
        response,
        400,
        INVALID,
        "invalid-request",
        {"Idempotency-Key": ["Must be 1 to 255 printable ASCII characters."]},
    )
    assert stock() == {"A-1": 10}


@pytest.mark.usefixtures("product")
def test_keys_are_per_user(client_staff: APIClient, make_client: Any) -> None:
    # given
    other = make_client("chief", staff=True)
    body = {"delta": 1, "reason": "found"}

    # when
    first = post(client_staff, body, key="same")
    second = post(other, body, key="same")

    # then
    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second
    assert [m[3] for m in movements("A-1")] == [None, "boss", "chief"]
