"""`manage.py stock_audit`: every product's movements add up to its stock, or it says which not."""

import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orderservice.inventory.models import Product
from orderservice.inventory.services import product_adjust, product_restock
from tests.factories import ProductFactory
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
    assert (
        out == "Stock ledger OK: the movements of all 2 products add up to their product_count.\n"
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
