"""`manage.py stock_audit`: every product's movements add up to its stock and every order's
movements to its lines, or it says which not."""

import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orderservice.inventory.models import Product, StockMovement
from orderservice.inventory.services import product_adjust, product_restock
from orderservice.orders.models import OrderItem
from orderservice.orders.services import order_cancel, order_update_lines
from tests.factories import ProductFactory, StaffFactory, UserFactory, place_order
from tests.live import REPO_ROOT

pytestmark = pytest.mark.django_db


def test_a_ledger_that_adds_up_gets_a_one_line_summary(capsys: pytest.CaptureFixture[str]) -> None:
    # given
    ProductFactory(product_id="A", product_count=5)
    ProductFactory(product_id="B", product_count=0)
    product_restock(product_id="A", amount=3, actor="boss")
    product_adjust(product_id="B", set_to=2, reason="found", actor="boss")

    # when
    call_command("stock_audit")

    # then
    out, err = capsys.readouterr()
    assert out == (
        "Stock ledger OK: the movements of all 2 products add up to their product_count, and "
        "those of all 0 orders to their lines.\n"
    )
    assert err == ""


def test_each_product_not_explained_is_named_and_the_command_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given: stock changed behind the services' back
    ProductFactory(product_id="A", product_count=5)
    ProductFactory(product_id="B", product_count=5)
    ProductFactory(product_id="C", product_count=5)
    Product.objects.filter(product_id__in=["A", "C"]).update(product_count=9)

    # when
    with pytest.raises(CommandError, match="2 product"):
        call_command("stock_audit")

    # then
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "A: product_count is 9, its movements add up to 5",
        "C: product_count is 9, its movements add up to 5",
    ]


def test_orders_placed_edited_and_cancelled_pass_the_order_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given: every kind of order change, through the services
    ProductFactory(product_id="A", product_count=10)
    ProductFactory(product_id="B", product_count=10)
    alice = UserFactory.create(username="alice")
    edited = place_order(user=alice, lines={"A": 2, "B": 1})
    order_update_lines(order_id=edited.id, user=alice, lines={"A": 5, "B": 0})
    order_update_lines(order_id=edited.id, user=alice, lines={"B": 3})
    cancelled = place_order(user=alice, lines={"A": 1, "B": 2})
    order_update_lines(order_id=cancelled.id, user=alice, lines={"A": 4})
    order_cancel(order_id=cancelled.id, user=StaffFactory.create())
    place_order(user=alice, lines={"B": 1}, status="delivered")

    # when
    call_command("stock_audit")

    # then
    out, err = capsys.readouterr()
    assert out == (
        "Stock ledger OK: the movements of all 2 products add up to their product_count, and "
        "those of all 3 orders to their lines.\n"
    )
    assert err == ""


def test_each_order_line_not_matched_by_its_movements_is_named_and_the_command_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given: a line changed behind the services' back, and a cancel whose movements were lost
    ProductFactory(product_id="A", product_count=10)
    ProductFactory(product_id="B", product_count=10)
    alice = UserFactory.create(username="alice")
    changed = place_order(user=alice, lines={"A": 2, "B": 1})
    OrderItem.objects.filter(order=changed, product_id="B").update(item_count=4)
    lost = place_order(user=alice, lines={"A": 3}, status="cancelled")
    StockMovement.objects.filter(order_id=lost.id, reason="order_cancelled").delete()
    Product.objects.filter(product_id="A").update(product_count=5)  # as if never returned

    # when
    with pytest.raises(CommandError, match="2 order line"):
        call_command("stock_audit")

    # then: the products still add up; the two order lines are named, in order id order
    out, err = capsys.readouterr()
    assert out == ""
    assert sorted(err.splitlines()) == sorted(
        [
            f"{changed.id} B: the order holds 4, its movements take 1",
            f"{lost.id} A: the order is cancelled, so 0, its movements take 3",
        ]
    )


def test_the_command_exits_non_zero_from_the_shell(tmp_path: Path) -> None:
    # given: a SQLite database where the ledger does not add up
    database = tmp_path / "audit.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{database}", "DEBUG": "1", "PATH": "/usr/bin:/bin"}
    manage = [sys.executable, str(REPO_ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=REPO_ROOT)
    subprocess.run([*manage, "load_demo"], env=env, check=True, cwd=REPO_ROOT, capture_output=True)
    good = subprocess.run([*manage, "stock_audit"], env=env, cwd=REPO_ROOT, capture_output=True)
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("UPDATE inventory_product SET product_count = 1 WHERE product_id = 'SKU-2'")

    # when
    bad = subprocess.run([*manage, "stock_audit"], env=env, cwd=REPO_ROOT, capture_output=True)

    # then
    assert (good.returncode, bad.returncode) == (0, 1)
    assert good.stdout.decode().startswith("Stock ledger OK")
    assert "SKU-2: product_count is 1, its movements add up to 10" in bad.stderr.decode()
