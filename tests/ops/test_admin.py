"""The Django admin: stock changes and status changes go through the services, with their rules."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission, User
from django.test import Client
from rest_framework.test import APIClient

from orderservice.common import clock
from orderservice.inventory import services as inventory_services
from orderservice.inventory.models import Product
from orderservice.orders import placement
from orderservice.orders import services as order_services
from orderservice.orders.models import Order
from orderservice.tokens.models import ApiToken
from orderservice.tokens.services import token_issue
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator() -> Client:
    """A staff user (not superuser) with the shop operator's permissions, logged in."""
    user = User.objects.create_user("operator", password="not-used-here", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=[
                "view_product",
                "change_product",
                "add_product",
                "view_order",
                "change_order",
            ]
        )
    )
    client = Client()
    client.force_login(user)
    return client


def form_data(response: Any, **changes: Any) -> dict[str, Any]:
    """What the browser would post back for the admin form in `response`, with `changes`."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data: dict[str, Any] = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is not None:
                data[form.add_prefix(name)] = value
    data.update(changes)
    return data


def spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    real: Callable[..., Any] = getattr(module, name)

    def recording(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(module, name, recording)
    return calls


def place(username: str, **lines: int) -> Order:
    return placement.order_place(
        user=User.objects.get_or_create(username=username)[0], lines=lines, partial=False
    ).order


# --- products ---------------------------------------------------------------------------------


def test_product_list_shows_stock_searches_and_filters_low_stock(operator):
    ProductFactory(product_id="BEANS-1", name="Espresso beans", product_count=100)
    ProductFactory(product_id="MUG-1", name="Mug", product_count=2)
    ProductFactory(product_id="JUG-1", name="Milk jug", product_count=0)

    everything = operator.get("/admin/inventory/product/")
    low = operator.get("/admin/inventory/product/?stock=low")
    out = operator.get("/admin/inventory/product/?stock=out")
    found = operator.get("/admin/inventory/product/?q=espresso")

    assert everything.status_code == 200
    assert [p.product_id for p in everything.context["cl"].result_list] == [
        "BEANS-1",
        "JUG-1",
        "MUG-1",
    ]
    assert b"100" in everything.content
    assert [p.product_id for p in low.context["cl"].result_list] == ["MUG-1"]
    assert [p.product_id for p in out.context["cl"].result_list] == ["JUG-1"]
    assert [p.product_id for p in found.context["cl"].result_list] == ["BEANS-1"]


def test_restock_goes_through_the_service_and_ignores_a_stale_count(operator, monkeypatch):
    # given: the form was loaded at 10; an order took 4 since
    ProductFactory(product_id="SKU-1", product_count=10)
    page = operator.get("/admin/inventory/product/SKU-1/change/")
    place("alice", **{"SKU-1": 4})
    calls = spy(monkeypatch, inventory_services, "product_restock")

    # when: the operator adds 5 (the posted data even carries a forged product_count)
    response = operator.post(
        "/admin/inventory/product/SKU-1/change/",
        form_data(page, restock=5, product_count=999),
    )

    # then
    assert response.status_code == 302, response.content[:2000]
    assert calls == [{"product_id": "SKU-1", "amount": 5, "actor": "operator"}]
    assert Product.objects.get(product_id="SKU-1").product_count == 11


def test_set_stock_and_rename_go_through_product_update(operator, monkeypatch):
    ProductFactory(product_id="SKU-1", name="Old", product_count=10)
    page = operator.get("/admin/inventory/product/SKU-1/change/")
    calls = spy(monkeypatch, inventory_services, "product_update")

    response = operator.post(
        "/admin/inventory/product/SKU-1/change/", form_data(page, name="New", set_stock=3)
    )

    assert response.status_code == 302
    assert calls == [
        {
            "product_id": "SKU-1",
            "name": "New",
            "price": Decimal("0.00"),
            "low_stock_threshold": 5,
            "product_count": 3,
            "actor": "operator",
        }
    ]
    product = Product.objects.get(product_id="SKU-1")
    assert (product.name, product.product_count) == ("New", 3)


def test_restock_and_set_stock_together_are_refused(operator):
    ProductFactory(product_id="SKU-1", product_count=10)
    page = operator.get("/admin/inventory/product/SKU-1/change/")

    response = operator.post(
        "/admin/inventory/product/SKU-1/change/", form_data(page, restock=1, set_stock=3)
    )

    assert response.status_code == 200
    assert "not both" in str(response.context["adminform"].form.errors)
    assert Product.objects.get(product_id="SKU-1").product_count == 10


def test_add_product_goes_through_product_create_and_validates_the_id(operator, monkeypatch):
    calls = spy(monkeypatch, inventory_services, "product_create")

    bad = operator.post(
        "/admin/inventory/product/add/",
        {"product_id": "no spaces", "name": "X", "product_count": 1},
    )
    negative = operator.post(
        "/admin/inventory/product/add/", {"product_id": "SKU-9", "name": "X", "product_count": -1}
    )
    good = operator.post(
        "/admin/inventory/product/add/", {"product_id": "SKU-9", "name": "Nine", "product_count": 9}
    )

    assert bad.status_code == 200
    assert negative.status_code == 200
    assert good.status_code == 302
    assert calls == [
        {
            "product_id": "SKU-9",
            "name": "Nine",
            "product_count": 9,
            "price": None,
            "low_stock_threshold": None,
            "actor": "operator",
        }
    ]
    assert Product.objects.get(product_id="SKU-9").product_count == 9


def test_adding_renaming_and_restocking_in_the_admin_stamp_the_clock_time(operator, monkeypatch):
    # given: the service clock at a fixed time, to the microsecond
    moment = datetime(2031, 3, 1, 12, 34, 56, 123456, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)

    # when: added; then renamed, then restocked, each a minute later
    added = operator.post(
        "/admin/inventory/product/add/", {"product_id": "SKU-9", "name": "Nine", "product_count": 9}
    )
    stamps = [Product.objects.get(product_id="SKU-9").updated_at]
    for minutes, change in ((1, {"name": "Nine!"}), (2, {"restock": 1})):
        monkeypatch.setattr(clock, "now", lambda m=minutes: moment + timedelta(minutes=m))
        page = operator.get("/admin/inventory/product/SKU-9/change/")
        response = operator.post(
            "/admin/inventory/product/SKU-9/change/", form_data(page, **change)
        )
        assert response.status_code == 302, response.content[:2000]
        stamps.append(Product.objects.get(product_id="SKU-9").updated_at)

    # then
    assert added.status_code == 302
    assert Product.objects.get(product_id="SKU-9").created_at == moment
    assert stamps == [moment + timedelta(minutes=m) for m in range(3)]


def test_products_cannot_be_deleted_in_the_admin(operator):
    ProductFactory(product_id="SKU-1")
    assert operator.get("/admin/inventory/product/SKU-1/delete/").status_code == 403


# --- orders -----------------------------------------------------------------------------------


def test_order_list_filters_by_status_and_date(operator):
    ProductFactory(product_id="SKU-1", product_count=10)
    first = place("alice", **{"SKU-1": 1})
    second = place("bob", **{"SKU-1": 2})
    order_services.order_cancel(order_id=second.id, user=second.user)
    day = first.created_at

    placed = operator.get("/admin/orders/order/?status__exact=placed")
    cancelled = operator.get("/admin/orders/order/?status__exact=cancelled")
    dated = operator.get(
        f"/admin/orders/order/?created_at__year={day.year}&created_at__month={day.month}"
        f"&created_at__day={day.day}"
    )
    by_user = operator.get("/admin/orders/order/?q=bob")

    assert [o.id for o in placed.context["cl"].result_list] == [first.id]
    assert [o.id for o in cancelled.context["cl"].result_list] == [second.id]
    assert {o.id for o in dated.context["cl"].result_list} == {first.id, second.id}
    assert [o.id for o in by_user.context["cl"].result_list] == [second.id]


def test_order_ids_are_quoted_in_admin_urls(operator):
    # "ord_" + hex: "_3A", "_5F"... are escapes to the admin, so links must use its quote().
    order_id = "ord_3a" + "0" * 22
    Order.objects.create(id=order_id, user=User.objects.create_user("alice"))

    listing = operator.get("/admin/orders/order/")
    page = operator.get(f"/admin/orders/order/{quote(order_id)}/change/")

    assert f"/admin/orders/order/{quote(order_id)}/change/".encode() in listing.content
    assert page.status_code == 200
    assert page.context["original"].id == order_id


def test_order_page_shows_items_and_offers_only_allowed_statuses(operator):
    ProductFactory(product_id="SKU-1", product_count=10)
    order = place("alice", **{"SKU-1": 3})

    page = operator.get(f"/admin/orders/order/{quote(order.id)}/change/")

    assert page.status_code == 200
    choices = [value for value, _ in page.context["adminform"].form.fields["status"].choices]
    assert choices == ["placed", "processing", "cancelled"]
    assert b"SKU-1" in page.content


def test_status_moves_through_order_set_status_along_the_pipeline(operator, monkeypatch):
    # given
    ProductFactory(product_id="SKU-1", product_count=10)
    order = place("alice", **{"SKU-1": 3})
    calls = spy(monkeypatch, order_services, "order_set_status")
    url = f"/admin/orders/order/{quote(order.id)}/change/"

    # when
    to_processing = operator.post(url, form_data(operator.get(url), status="processing"))
    to_shipped = operator.post(url, form_data(operator.get(url), status="shipped"))

    # then
    assert (to_processing.status_code, to_shipped.status_code) == (302, 302)
    assert [call["status"] for call in calls] == ["processing", "shipped"]
    order.refresh_from_db()
    assert (order.status, order.version) == ("shipped", 3)


def test_a_transition_outside_the_pipeline_is_refused(operator):
    ProductFactory(product_id="SKU-1", product_count=10)
    order = place("alice", **{"SKU-1": 3})
    url = f"/admin/orders/order/{quote(order.id)}/change/"

    response = operator.post(url, form_data(operator.get(url), status="delivered"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    order.refresh_from_db()
    assert order.status == "placed"


def test_cancel_in_the_admin_returns_the_stock_once(operator):
    ProductFactory(product_id="SKU-1", product_count=10)
    order = place("alice", **{"SKU-1": 3})
    url = f"/admin/orders/order/{quote(order.id)}/change/"

    response = operator.post(url, form_data(operator.get(url), status="cancelled"))
    again = operator.post(
        "/admin/orders/order/", {"action": "mark_cancelled", "_selected_action": [order.id]}
    )

    assert response.status_code == 302
    assert again.status_code == 302
    assert Product.objects.get(product_id="SKU-1").product_count == 10
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_bulk_actions_follow_the_pipeline(operator):
    ProductFactory(product_id="SKU-1", product_count=10)
    orders = [place("alice", **{"SKU-1": 1}) for _ in range(2)]
    order_services.order_cancel(order_id=orders[1].id, user=orders[1].user)

    operator.post(
        "/admin/orders/order/",
        {"action": "mark_processing", "_selected_action": [o.id for o in orders]},
    )

    assert [Order.objects.get(id=o.id).status for o in orders] == ["processing", "cancelled"]


def test_orders_cannot_be_added_or_deleted_in_the_admin(operator):
    ProductFactory(product_id="SKU-1", product_count=10)
    order = place("alice", **{"SKU-1": 1})

    assert operator.get("/admin/orders/order/add/").status_code == 403
    assert operator.get(f"/admin/orders/order/{quote(order.id)}/delete/").status_code == 403


def test_admin_needs_staff():
    client = Client()
    client.force_login(User.objects.create_user("customer", password="x"))

    response = client.get("/admin/orders/order/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


# --- tokens -----------------------------------------------------------------------------------


def test_deleting_a_token_in_the_admin_revokes_it():
    # given: a working key, and a superuser in the admin
    key = token_issue(username="alice")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/products").status_code == 200  # cached in this process now
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="x"))
    token = ApiToken.objects.get(user__username="alice")

    # when
    listing = admin.get("/admin/tokens/apitoken/")
    deleted = admin.post(f"/admin/tokens/apitoken/{token.pk}/delete/", {"post": "yes"})

    # then
    assert token.prefix.encode() in listing.content
    assert key.encode() not in listing.content
    assert admin.get("/admin/tokens/apitoken/add/").status_code == 403
    assert deleted.status_code == 302
    assert api.get("/products").status_code == 401
