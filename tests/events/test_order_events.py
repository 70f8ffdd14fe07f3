"""Every committed order change writes exactly its event, in its transaction (SPEC §12); refused
requests write none. Placing (order.placed) and the stock's crossings:
test_placed_and_stock_events.py."""

import json
from collections.abc import Callable

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from orderservice.events.models import Event
from orderservice.events.outbox import json_time
from tests.factories import ProductFactory, UserFactory, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def order_id(client_user: APIClient) -> str:
    ProductFactory(product_id="SKU-1", product_count=10)
    ProductFactory(product_id="SKU-2", product_count=10)
    response = client_user.post(
        "/orders", {"products": [{"product_id": "SKU-1", "item_count": 2}]}, format="json"
    )
    assert response.status_code == 200
    return str(response.json()["order_id"])


def _new_events(action: Callable[[], object]) -> list[Event]:
    last = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    action()
    return list(Event.objects.filter(id__gt=last).order_by("id"))


def _as_committed(client: APIClient, order_id: str, version: int) -> dict[str, object]:
    """The GET body of the order now, plus its owner and version."""
    response = client.get(f"/orders/{order_id}")
    assert response["ETag"] == f'"{version}"'
    return {**response.json(), "user": "alice", "version": version}


def _data(event: Event) -> object:
    return json.loads(event.data)


def test_an_edit_writes_one_order_updated_with_the_order_as_committed(
    client_user: APIClient, order_id: str
):
    body = {"products": [{"product_id": "SKU-1", "item_count": 3}, {"product_id": "SKU-2",
                                                                     "item_count": 1}]}  # fmt: skip

    events = _new_events(lambda: client_user.patch(f"/orders/{order_id}", body, format="json"))

    assert [e.type for e in events] == ["order.updated"]
    assert _data(events[0]) == _as_committed(client_user, order_id, version=2)
    # the event carries the change's own time
    assert _data(events[0])["updated_at"] == json_time(events[0].created_at)  # type: ignore[index]


def test_an_edit_that_changes_nothing_writes_none(client_user: APIClient, order_id: str):
    body = {"products": [{"product_id": "SKU-1", "item_count": 2}]}

    events = _new_events(lambda: client_user.patch(f"/orders/{order_id}", body, format="json"))

    assert events == []


def test_a_cancel_writes_one_order_cancelled(client_user: APIClient, order_id: str):
    events = _new_events(lambda: client_user.delete(f"/orders/{order_id}"))

    assert [e.type for e in events] == ["order.cancelled"]
    data = _data(events[0])
    assert data == _as_committed(client_user, order_id, version=2)
    assert data["order_status"] == "cancelled"  # type: ignore[index]


def test_staff_cancelled_is_one_order_cancelled(
    client_user: APIClient, client_staff: APIClient, order_id: str
):
    patch = {"order_status": "cancelled"}

    events = _new_events(lambda: client_staff.patch(f"/orders/{order_id}", patch, format="json"))

    assert [e.type for e in events] == ["order.cancelled"]
    assert _data(events[0]) == _as_committed(client_user, order_id, version=2)


def test_other_staff_status_changes_are_order_status_changed(
    client_user: APIClient, client_staff: APIClient, order_id: str
):
    def move() -> None:
        for status in ("processing", "shipped"):
            response = client_staff.patch(
                f"/orders/{order_id}", {"order_status": status}, format="json"
            )
            assert response.status_code == 200

    events = _new_events(move)

    assert [e.type for e in events] == ["order.status_changed", "order.status_changed"]
    assert [_data(e)["order_status"] for e in events] == ["processing", "shipped"]  # type: ignore[index]
    assert _data(events[1]) == _as_committed(client_user, order_id, version=3)


def test_the_user_is_the_owner_whoever_makes_the_change(client_staff: APIClient):
    ProductFactory(product_id="SKU-9")
    order = place_order(user=UserFactory.create(username="carol"), lines={"SKU-9": 1})

    events = _new_events(lambda: client_staff.delete(f"/orders/{order.id}"))

    assert _data(events[0])["user"] == "carol"  # type: ignore[index]


@pytest.mark.parametrize(
    ("method", "body", "headers", "status"),
    [
        ("patch", {"products": [{"product_id": "SKU-1", "item_count": 99}]}, {}, 404),
        ("patch", {"products": [{"product_id": "NOPE", "item_count": 1}]}, {}, 400),
        ("patch", {"products": [{"product_id": "SKU-1", "item_count": 0}]}, {}, 400),
        ("patch", {"products": [{"product_id": "SKU-1", "item_count": 3}]},
         {"HTTP_IF_MATCH": '"7"'}, 412),
        ("delete", None, {"HTTP_IF_MATCH": '"7"'}, 412),
    ],
)  # fmt: skip
def test_refused_changes_write_no_event(
    client_user: APIClient, order_id: str, method: str, body: object, headers: dict, status: int
):
    def refused() -> None:
        call = getattr(client_user, method)
        response = call(f"/orders/{order_id}", body, format="json", **headers)
        assert response.status_code == status, response.json()

    assert _new_events(refused) == []


def test_refused_transitions_write_no_event(
    client_user: APIClient, client_staff: APIClient, order_id: str
):
    def refused() -> None:
        assert client_user.delete(f"/orders/{order_id}").status_code == 200
        assert client_user.delete(f"/orders/{order_id}").status_code == 409
        again = client_staff.patch(
            f"/orders/{order_id}", {"order_status": "shipped"}, format="json"
        )
        assert again.status_code == 409
        assert APIClient().delete(f"/orders/{order_id}").status_code == 401

    assert [e.type for e in _new_events(refused)] == ["order.cancelled"]


def test_someone_elses_order_writes_no_event(make_client: Callable[..., APIClient], order_id: str):
    bob = make_client("bob")

    events = _new_events(lambda: bob.delete(f"/orders/{order_id}"))

    assert events == []


@override_settings(EVENTS_ENABLED=False)
def test_events_off_writes_none(client_user: APIClient, client_staff: APIClient, order_id: str):
    def changes() -> None:
        body = {"products": [{"product_id": "SKU-1", "item_count": 1}]}
        assert client_user.patch(f"/orders/{order_id}", body, format="json").status_code == 200
        patch = {"order_status": "processing"}
        assert client_staff.patch(f"/orders/{order_id}", patch, format="json").status_code == 200

    assert _new_events(changes) == []
