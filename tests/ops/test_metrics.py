"""GET /metrics: Prometheus text, no authentication, business counters counted where they happen."""

from collections.abc import Callable

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from orderservice.common.exceptions import DatabaseUnavailable
from orderservice.orders import placement
from tests.factories import ProductFactory

# Counters move on commit, so the tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

COUNTERS = [
    "orders_placed_total",
    "orders_filled_lines_total",
    "orders_out_of_stock_lines_total",
    "orders_cancelled_total",
    "orders_edited_total",
    "orders_idempotent_replays_total",
    "orders_db_retries_total",
    "orders_unavailable_total",
]


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def counting(*names: str) -> Callable[[], dict[str, float]]:
    """Snapshot the counters now; the returned function gives how much each moved since."""
    before = {name: value(name) for name in names}
    return lambda: {name: value(name) - before[name] for name in names}


def order(client: APIClient, *lines: tuple[str, int], **extra: object):
    body = {"products": [{"product_id": p, "item_count": n} for p, n in lines], **extra}
    return client.post("/orders", body, format="json")


def test_metrics_is_public_prometheus_text_with_every_business_counter():
    APIClient().get("/products")  # a request to be measured (labelled series appear on use)
    response = APIClient().get("/metrics")
    slash = APIClient().get("/metrics/")

    assert response.status_code == 200
    assert slash.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for name in [*COUNTERS, "orders_place_duration_seconds_bucket"]:
        assert f"\n{name}" in text, name
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text


def test_requests_are_counted_by_status_view_and_method_and_timed(client_user):
    # given
    ProductFactory(product_id="SKU-1", product_count=10)
    found = {"status": "200", "view": "product-detail", "method": "GET"}
    missing = {"status": "404", "view": "product-detail", "method": "GET"}
    unrouted = {"status": "404", "view": "<unnamed view>", "method": "GET"}
    responses = "django_http_responses_total_by_status_view_method_total"
    latency = "django_http_requests_latency_seconds_by_view_method_count"
    before = {
        "found": value(responses, **found),
        "missing": value(responses, **missing),
        "unrouted": value(responses, **unrouted),
        "timed": value(latency, view="product-detail", method="GET"),
    }

    # when
    statuses = [
        client_user.get("/products/SKU-1").status_code,
        client_user.get("/products/SKU-1/").status_code,
        client_user.get("/products/NOPE").status_code,
        client_user.get("/no/such/path").status_code,
    ]

    # then
    assert statuses == [200, 200, 404, 404]
    assert value(responses, **found) - before["found"] == 2
    assert value(responses, **missing) - before["missing"] == 1
    assert value(responses, **unrouted) - before["unrouted"] == 1
    assert value(latency, view="product-detail", method="GET") - before["timed"] == 3


@override_settings(ROOT_URLCONF="tests.api.crash_urls")
def test_exceptions_are_counted_by_type(client_user):
    client_user.raise_request_exception = False
    name = "django_http_exceptions_total_by_type_total"
    before = value(name, type="ZeroDivisionError")

    response = client_user.post("/crash/api", {}, format="json")

    assert response.status_code == 500
    assert value(name, type="ZeroDivisionError") == before + 1


def test_only_the_request_metrics_worth_their_cost_are_exported():
    # One middleware records responses, latencies and exceptions; django-prometheus's pair also
    # counted bodies, charsets and transports on every request.
    APIClient().get("/products")

    text = APIClient().get("/metrics").content.decode()

    assert "\ndjango_http_responses_total_by_status_view_method_total{" in text
    for dropped in (
        "django_http_requests_before_middlewares_total",
        "django_http_requests_total_by_method",
        "django_http_responses_body_total_bytes",
        "django_http_responses_total_by_charset",
    ):
        assert dropped not in text, dropped


def test_placing_counts_orders_and_lines_filled_or_short(client_user):
    # given
    ProductFactory(product_id="SKU-1", product_count=10)
    ProductFactory(product_id="SKU-2", product_count=1)
    moved = counting(
        "orders_placed_total",
        "orders_filled_lines_total",
        "orders_out_of_stock_lines_total",
        "orders_place_duration_seconds_count",
    )

    # when: one full order, one partial, one with nothing to fill (404)
    full = order(client_user, ("SKU-1", 1), ("SKU-2", 1))
    partial = order(client_user, ("SKU-1", 1), ("SKU-2", 5))
    nothing = order(client_user, ("SKU-2", 5))

    # then
    assert [full.status_code, partial.status_code, nothing.status_code] == [200, 200, 404]
    assert moved() == {
        "orders_placed_total": 2,
        "orders_filled_lines_total": 3,
        "orders_out_of_stock_lines_total": 2,
        "orders_place_duration_seconds_count": 3,
    }


def test_rejected_orders_count_nothing(client_user):
    ProductFactory(product_id="SKU-1", product_count=10)
    moved = counting("orders_placed_total", "orders_filled_lines_total")

    assert order(client_user, ("NOPE", 1)).status_code == 400
    assert order(client_user, ("SKU-1", 0)).status_code == 400

    assert moved() == {"orders_placed_total": 0, "orders_filled_lines_total": 0}


def test_cancel_edit_and_status_changes_are_counted(client_user, client_staff):
    # given
    ProductFactory(product_id="SKU-1", product_count=10)
    first = order(client_user, ("SKU-1", 1)).json()["order_id"]
    second = order(client_user, ("SKU-1", 1)).json()["order_id"]
    moved = counting("orders_cancelled_total", "orders_edited_total")
    shipped_before = value("orders_status_changes_total", status="processing")

    # when
    edit = client_user.patch(
        f"/orders/{first}", {"products": [{"product_id": "SKU-1", "item_count": 3}]}, format="json"
    )
    cancel = client_user.delete(f"/orders/{second}")
    cancel_again = client_user.delete(f"/orders/{second}")
    processing = client_staff.patch(
        f"/orders/{first}", {"order_status": "processing"}, format="json"
    )

    # then
    assert [edit.status_code, cancel.status_code, cancel_again.status_code] == [200, 200, 409]
    assert processing.status_code == 200
    assert moved() == {"orders_cancelled_total": 1, "orders_edited_total": 1}
    assert value("orders_status_changes_total", status="processing") == shipped_before + 1


def test_503_is_counted(client_user, monkeypatch):
    # given: the database never answers within the budget
    ProductFactory(product_id="SKU-1", product_count=10)

    def unavailable(**kwargs: object) -> None:
        raise DatabaseUnavailable(wait=2)

    monkeypatch.setattr(placement, "order_place", unavailable)
    moved = counting("orders_unavailable_total", "orders_placed_total")

    # when
    response = order(client_user, ("SKU-1", 1))

    # then
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert moved() == {"orders_unavailable_total": 1, "orders_placed_total": 0}
