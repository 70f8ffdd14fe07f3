"""The admin's products page and the stock ledger: every stock change made there is a movement
by the operator; adjustments go through product_adjust; the latest movements are shown."""

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from orderservice.inventory import services as inventory_services
from orderservice.inventory.models import Product, StockMovement
from tests.factories import ProductFactory, ledger_violations, movements
from tests.ops.test_admin import form_data, place, spy

pytestmark = pytest.mark.django_db

URL = "/admin/inventory/product/SKU-1/change/"


@pytest.fixture
def operator() -> Client:
    user = User.objects.create_user("operator", password="not-used-here", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_product", "change_product", "add_product"])
    )
    client = Client()
    client.force_login(user)
    return client


def _post(operator: Client, **changes: Any) -> Any:
    return operator.post(URL, form_data(operator.get(URL), **changes))


def test_a_product_added_with_stock_has_its_initial_movement_by_the_operator(operator):
    # when
    response = operator.post(
        "/admin/inventory/product/add/",
        {"product_id": "SKU-9", "name": "Nine", "product_count": 9, "price": "2.5"},
    )

    # then
    assert response.status_code == 302
    product = Product.objects.get(product_id="SKU-9")
    assert (str(product.price), product.low_stock_threshold) == ("2.50", 5)
    assert movements("SKU-9") == [(9, 9, "initial", "operator", None)]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"restock": 5}, (5, 15, "restock", "operator", None), id="restock"),
        pytest.param({"set_stock": 3}, (-7, 3, "correction", "operator", None), id="set-stock"),
        pytest.param(
            {"adjust_by": -2, "reason": "damaged", "note": "dropped"},
            (-2, 8, "damaged", "operator", "dropped"),
            id="adjust-by",
        ),
        pytest.param(
            {"adjust_to": 12, "reason": "found"}, (2, 12, "found", "operator", None), id="adjust-to"
        ),
    ],
)
def test_each_stock_change_in_the_admin_is_a_movement(operator, changes, expected):
    # given
    ProductFactory(product_id="SKU-1", product_count=10)

    # when
    response = _post(operator, **changes)

    # then
    assert response.status_code == 302, response.content[:2000]
    assert movements("SKU-1") == [(10, 10, "initial", None, None), expected]
    assert ledger_violations() == []


def test_an_adjustment_goes_through_product_adjust(operator, monkeypatch):
    # given
    ProductFactory(product_id="SKU-1", product_count=10)
    page = operator.get(URL)
    calls = spy(monkeypatch, inventory_services, "product_adjust")

    # when
    operator.post(URL, form_data(page, adjust_to=4, reason="lost", note="stock-take"))

    # then
    assert calls == [
        {
            "product_id": "SKU-1",
            "delta": None,
            "set_to": 4,
            "expected_count": 10,
            "reason": "lost",
            "note": "stock-take",
            "actor": "operator",
        }
    ]


def test_adjust_to_over_a_change_the_page_did_not_show_is_refused(operator):
    # given: the page shows 10; an order takes 4 before the operator posts the count
    ProductFactory(product_id="SKU-1", product_count=10)
    page = operator.get(URL)
    place("alice", **{"SKU-1": 4})

    # when
    response = operator.post(URL, form_data(page, adjust_to=9, reason="correction"), follow=True)

    # then
    shown = [str(m) for m in response.context["messages"]]
    assert any("The stock is now 6." in m for m in shown), shown
    assert Product.objects.get(product_id="SKU-1").product_count == 6
    assert StockMovement.objects.filter(reason="correction").count() == 0


def test_adjust_by_below_zero_is_refused_and_nothing_else_is_saved(operator):
    # given
    ProductFactory(product_id="SKU-1", name="Old", product_count=1)

    # when
    response = _post(operator, name="New", adjust_by=-2, reason="lost")

    # then
    assert response.status_code == 302
    product = Product.objects.get(product_id="SKU-1")
    assert (product.name, product.product_count) == ("Old", 1)
    assert len(movements("SKU-1")) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"adjust_by": 2}, "reason", id="adjust-without-reason"),
        pytest.param({"adjust_by": 0, "reason": "found"}, "adjust_by", id="adjust-by-0"),
        pytest.param({"reason": "found"}, "reason", id="reason-without-adjustment"),
        pytest.param({"adjust_by": 1, "reason": "initial"}, "reason", id="reason-not-for-staff"),
        pytest.param({"price": "-1"}, "price", id="price-negative"),
        pytest.param({"price": "1000000.01"}, "price", id="price-over-a-million"),
        pytest.param({"price": "1.005"}, "price", id="price-3-places"),
        pytest.param({"low_stock_threshold": -1}, "low_stock_threshold", id="threshold-negative"),
    ],
)
def test_an_invalid_change_is_refused_on_the_form(operator, changes, field):
    # given
    ProductFactory(product_id="SKU-1", product_count=10)

    # when
    response = _post(operator, **changes)

    # then
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert len(movements("SKU-1")) == 1


def test_two_stock_changes_at_once_are_refused(operator):
    # given
    ProductFactory(product_id="SKU-1", product_count=10)

    # when
    response = _post(operator, restock=1, adjust_by=2, reason="found")

    # then
    assert response.status_code == 200
    assert "one way at a time" in str(response.context["adminform"].form.errors)
    assert Product.objects.get(product_id="SKU-1").product_count == 10


def test_price_and_threshold_change_without_a_movement(operator):
    # given
    ProductFactory(product_id="SKU-1", product_count=10)

    # when
    response = _post(operator, price="12.5", low_stock_threshold=20)

    # then
    assert response.status_code == 302
    product = Product.objects.get(product_id="SKU-1")
    assert (str(product.price), product.low_stock_threshold) == ("12.50", 20)
    assert len(movements("SKU-1")) == 1


def test_the_product_page_shows_its_latest_movements_newest_first(operator):
    # given
    ProductFactory(product_id="SKU-1", product_count=10)
    for amount in range(1, 26):
        inventory_services.product_restock(product_id="SKU-1", amount=amount, actor="boss")

    # when
    page = operator.get(URL).content.decode()

    # then: the 20 newest (restocks of 25 down to 6), not the older ones
    assert page.count("<td>+") == 20
    assert page.index("<td>+25</td>") < page.index("<td>+6</td>")
    assert "<td>+5</td>" not in page
    assert "<td>initial" not in page.lower()


def test_the_stock_status_filter_uses_each_products_threshold(operator):
    # given
    ProductFactory(product_id="A", product_count=8, low_stock_threshold=10)
    ProductFactory(product_id="B", product_count=8, low_stock_threshold=5)
    ProductFactory(product_id="C", product_count=0)

    # when
    pages = {v: operator.get(f"/admin/inventory/product/?stock={v}") for v in ("low", "ok", "out")}

    # then
    listed = {v: [p.product_id for p in r.context["cl"].result_list] for v, r in pages.items()}
    assert listed == {"low": ["A"], "ok": ["B"], "out": ["C"]}


def test_movements_can_be_read_but_not_written_in_the_admin():
    # given
    ProductFactory(product_id="SKU-1", product_count=10)
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="x"))
    movement = StockMovement.objects.get()

    # when
    listing = admin.get("/admin/inventory/stockmovement/")
    add = admin.get("/admin/inventory/stockmovement/add/")
    delete = admin.get(f"/admin/inventory/stockmovement/{movement.pk}/delete/")
    change = admin.post(f"/admin/inventory/stockmovement/{movement.pk}/change/", {"delta": 99})

    # then
    assert listing.status_code == 200
    assert b"SKU-1" in listing.content
    assert (add.status_code, delete.status_code, change.status_code) == (403, 403, 403)
    assert StockMovement.objects.get().delta == 10
