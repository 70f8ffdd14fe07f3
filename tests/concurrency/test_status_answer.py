"""PATCH order_status answers one version: its body and its ETag agree under a concurrent change."""

import threading
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.test import APIClient

from orderservice.orders import services
from orderservice.orders.models import Order
from tests.factories import ProductFactory, UserFactory, place_order

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.timeout(60),
    pytest.mark.django_db(transaction=True),
]


def test_a_change_committed_right_after_the_status_change_is_not_in_its_answer(
    client_staff: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a placed order (version 1), and another request that ships it the moment the status
    # change has committed, before its answer is built
    ProductFactory.create(product_id="A", product_count=5)
    order = place_order(user=UserFactory.create(), lines={"A": 2})
    set_status = services.order_set_status

    def ship() -> None:
        try:
            set_status(order_id=order.id, user=User.objects.get(username="boss"), status="shipped")
        finally:
            connection.close()

    def then_shipped_by_another_request(**kwargs: Any) -> Any:
        answer = set_status(**kwargs)
        other = threading.Thread(target=ship)
        other.start()
        other.join(timeout=30)
        return answer

    monkeypatch.setattr(services, "order_set_status", then_shipped_by_another_request)

    # when
    response = client_staff.patch(
        f"/orders/{order.id}", {"order_status": "processing"}, format="json"
    )

    # then: the answer is version 2, processing, whole; the order has moved on to version 3
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["order_status"], response["ETag"]) == ("processing", '"2"')
    assert body["products"] == [
        {"product_id": "A", "item_count": 2, "unit_price": "0.00", "line_total": "0.00"}
    ]
    stored = Order.objects.get(id=order.id)
    assert (stored.status, stored.version) == ("shipped", 3)
    assert body["updated_at"] != stored.updated_at.isoformat().replace("+00:00", "Z")
