"""/metrics under uWSGI with several workers: the counters add up over all of them; and the
server's log is one JSON line per request carrying the client's X-Request-ID."""

import functools
import json

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.live import LiveServer, api_session, products_create, run_concurrently, user_token

pytestmark = pytest.mark.postgres

WORKERS = 3
ORDERS = 24
RESPONSES = "django_http_responses_total_by_status_view_method_total"
LATENCY = "django_http_requests_latency_seconds_by_view_method"


def scrape(server: LiveServer) -> dict[str, float]:
    """Every sample of a fresh connection's /metrics (any worker may answer), by name+labels."""
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def test_counters_add_up_across_workers(live_server_factory):
    # given
    products_create({"SKU-A": 1000, "SKU-B": 3})
    token = user_token("alice")
    staff_token = user_token("boss", staff=True)
    # As in production: serve.py alone sets up the multiprocess mode.
    server = live_server_factory(workers=WORKERS, env={"LOG_LEVEL": "INFO"})
    body = {
        "products": [
            {"product_id": "SKU-A", "item_count": 1},
            {"product_id": "SKU-B", "item_count": 1},
        ]
    }

    def place(index: int) -> requests.Response:
        with api_session(token) as session:
            return session.post(
                f"{server.url}/orders", json=body, headers={"X-Request-ID": f"live-{index}"}
            )

    # when: 24 clients at once (SKU-B fills only the first three), then two cancels
    outcomes = run_concurrently([functools.partial(place, i) for i in range(ORDERS)])
    responses = [outcome.value for outcome in outcomes]
    assert [o.error for o in outcomes] == [None] * ORDERS
    assert {r.status_code for r in responses} == {200}
    staff = api_session(staff_token)
    for response in responses[:2]:
        cancelled = staff.delete(f"{server.url}/orders/{response.json()['order_id']}")
        assert cancelled.status_code == 200

    # then: every scrape, whichever worker answers it, sees the sum over all workers
    scrapes = [scrape(server) for _ in range(2 * WORKERS)]
    for samples in scrapes:
        assert samples["orders_placed_total"] == ORDERS
        assert samples["orders_filled_lines_total"] == ORDERS + 3
        assert samples["orders_out_of_stock_lines_total"] == ORDERS - 3
        assert samples["orders_cancelled_total"] == 2
        assert samples["orders_place_duration_seconds_count"] == ORDERS
        # request metrics, by view and method
        assert samples[f"{RESPONSES}{{method=POST,status=200,view=order-list}}"] == ORDERS
        assert samples[f"{RESPONSES}{{method=DELETE,status=200,view=order-detail}}"] == 2
        assert samples[f"{LATENCY}_count{{method=POST,view=order-list}}"] == ORDERS

    # and: the server's log has one JSON line per order, with the client's request id
    lines = [
        json.loads(line)
        for line in server.log_path.read_text().splitlines()
        if line.startswith("{")
    ]
    placed = [
        line
        for line in lines
        if line.get("logger") == "orderservice.request" and line.get("method") == "POST"
    ]
    assert sorted(line["request_id"] for line in placed) == sorted(
        f"live-{i}" for i in range(ORDERS)
    )
    assert {(line["path"], line["status"], line["user"]) for line in placed} == {
        ("/orders", 200, "alice")
    }
    assert all(line["duration_ms"] > 0 for line in placed)
    # ...written by more than one worker: the counts above were added up across processes.
    assert len({line["pid"] for line in placed}) >= 2
    assert {r.headers["X-Request-ID"] for r in responses} == {f"live-{i}" for i in range(ORDERS)}
