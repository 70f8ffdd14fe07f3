"""GET /events: staff only, oldest first, `after`, `type`, `limit`, `next` (SPEC §12).

On `transactional_db`: on PostgreSQL the feed serves only events of ended transactions, and a
test's own transaction would be one still running.
"""

import re

import pytest
from rest_framework.test import APIClient

from orderservice.events.models import Event
from tests.events.conftest import write_events

pytestmark = pytest.mark.django_db(transaction=True)


def _ids(response) -> list[str]:
    return [event["event_id"] for event in response.json()["results"]]


def test_the_feed_is_for_staff_only(client_user: APIClient):
    assert client_user.get("/events").status_code == 403
    assert APIClient().get("/events").status_code == 401


def test_events_come_oldest_first_in_the_documented_shape(client_staff: APIClient):
    # given
    write_events(2, "order.updated")
    write_events(1, "product.out_of_stock")

    # when
    response = client_staff.get("/events")

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    assert [(e["type"], e["data"]) for e in body["results"]] == [
        ("order.updated", {"n": 0}),
        ("order.updated", {"n": 1}),
        ("product.out_of_stock", {"n": 0}),
    ]
    first = body["results"][0]
    assert list(first) == ["event_id", "type", "created_at", "data"]
    assert re.fullmatch(r"evt_[0-9a-f]{32}", first["event_id"])
    assert first["created_at"].endswith("Z")
    assert _ids(response) == list(Event.objects.order_by("id").values_list("event_id", flat=True))


def test_following_next_reads_every_event_once_then_polls_with_after(client_staff: APIClient):
    # given
    write_events(7)
    seen: list[str] = []

    # when: pages of 3
    url: str | None = "/events?limit=3"
    pages = 0
    while url and pages < 10:
        response = client_staff.get(url)
        assert response.status_code == 200, response.json()
        seen += _ids(response)
        url = response.json()["next"]
        pages += 1

    # then: 3 + 3 + 1, the last page ends the feed
    assert pages == 3
    assert seen == list(Event.objects.order_by("id").values_list("event_id", flat=True))

    # when: more events, polled with ?after=<last event_id>
    write_events(2)
    response = client_staff.get(f"/events?after={seen[-1]}")

    # then
    assert [e["data"] for e in response.json()["results"]] == [{"n": 0}, {"n": 1}]
    assert response.json()["next"] is None


def test_a_full_last_page_still_says_the_feed_ends_there(client_staff: APIClient):
    write_events(3)

    response = client_staff.get("/events?limit=3")

    assert len(response.json()["results"]) == 3
    assert response.json()["next"] is None


def test_type_filters_by_exact_type_or_family(client_staff: APIClient):
    # given
    write_events(1, "order.updated")
    write_events(1, "product.low_stock")
    write_events(1, "order.cancelled")

    # when
    exact = client_staff.get("/events?type=order.cancelled").json()["results"]
    family = client_staff.get("/events?type=order.*").json()["results"]
    products = client_staff.get("/events", {"type": "product.*", "limit": "1"}).json()

    # then
    assert [e["type"] for e in exact] == ["order.cancelled"]
    assert [e["type"] for e in family] == ["order.updated", "order.cancelled"]
    assert [e["type"] for e in products["results"]] == ["product.low_stock"]
    assert products["next"] is None


def test_next_keeps_the_filter(client_staff: APIClient):
    write_events(2, "order.updated")
    write_events(1, "product.low_stock")
    write_events(1, "order.updated")

    first = client_staff.get("/events?type=order.*&limit=2").json()
    second = client_staff.get(first["next"]).json()

    assert "type=order." in first["next"]
    assert [e["type"] for e in second["results"]] == ["order.updated"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("type=order", "type"),
        ("type=*", "type"),
        ("type=order.shipped", "type"),
        ("after=42", "after"),
        (f"after=evt_{'0' * 32}", "after"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    client_staff: APIClient, query: str, field: str
):
    response = client_staff.get(f"/events?{query}")

    assert response.status_code == 400
    assert field in response.json()["details"]


def test_limit_1000_is_allowed(client_staff: APIClient):
    write_events(2)

    assert len(client_staff.get("/events?limit=1000").json()["results"]) == 2
