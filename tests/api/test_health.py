"""GET /healthz and GET /readyz, and answering 503 at once while the database circuit is open."""

import time
from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from orderservice.common import alerts, clock
from orderservice.common.db import database_breaker, database_breaker_reset

pytestmark = pytest.mark.django_db

UNAVAILABLE = "Inventory service unavailable. Please retry later."


@pytest.fixture(autouse=True)
def fresh_breaker() -> Iterator[None]:
    database_breaker_reset()
    alerts.reset()
    yield
    database_breaker_reset()
    alerts.reset()


@pytest.mark.parametrize("path", ["/healthz", "/healthz/"])
def test_healthz_answers_without_credentials_or_database(path, django_assert_num_queries):
    # when
    with django_assert_num_queries(0):
        response = APIClient().get(path)

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("path", ["/readyz", "/readyz/"])
def test_readyz_asks_the_database(path, django_assert_num_queries):
    # when
    with django_assert_num_queries(1):
        response = APIClient().get(path)

    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok"}


def test_health_endpoints_take_only_get():
    # when
    response = APIClient().post("/readyz", {}, format="json")

    # then
    assert response.status_code == 405
    assert response.json()["error"] == "Method not allowed."


@pytest.fixture
def circuit_open(settings) -> None:
    settings.DB_BREAKER_COOLDOWN_SECONDS = 30.0
    database_breaker_reset()
    database_breaker().record_failure(decisive=True)


@pytest.mark.usefixtures("circuit_open")
def test_while_the_circuit_is_open_api_calls_fail_fast(client_user, django_assert_num_queries):
    # when
    with django_assert_num_queries(0):
        orders = client_user.get("/orders")
        place = client_user.post(
            "/orders", {"products": [{"product_id": "X", "item_count": 1}]}, format="json"
        )
        ready = APIClient().get("/readyz")
        alive = APIClient().get("/healthz")

    # then
    for response in (orders, place, ready):
        assert response.status_code == 503
        assert response.json()["error"] == UNAVAILABLE
        assert response.json()["documentation"].endswith("#inventory-unavailable")
        assert 1 <= int(response["Retry-After"]) <= 30
    assert alive.status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("circuit_open")
def test_after_the_cool_down_a_probe_closes_the_circuit(monkeypatch):
    # given: the cool-down is over
    real = clock.monotonic
    monkeypatch.setattr(clock, "monotonic", lambda: real() + 31)

    # when: the first call starts the probe (in the background) and is refused meanwhile
    first = APIClient().get("/readyz")
    deadline = time.monotonic() + 10
    while not database_breaker().is_closed and time.monotonic() < deadline:
        time.sleep(0.02)
    then = APIClient().get("/readyz")

    # then
    assert first.status_code == 503
    assert database_breaker().is_closed
    assert then.status_code == 200
