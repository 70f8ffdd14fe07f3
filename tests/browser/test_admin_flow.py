"""A shop operator in a real browser: logs in to /admin/, restocks a product, moves an order to
shipped (via processing); the API then shows both changes.

Playwright (the Python package) drives Debian's /usr/bin/chromium, never a downloaded browser;
`make install-browser` (run by `make test` and CI) installs it. The server is uWSGI with
production settings (DEBUG off), serving the admin's static files through whitenoise from a
freshly collected STATIC_ROOT.
"""

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.contrib.admin.utils import quote
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Permission, User

from orderservice.orders.placement import order_place
from tests.live import REPO_ROOT, api_session, products_create, user_token

pytestmark = pytest.mark.postgres

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "a-long-operator-password-1"


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        message = (
            f"\n{'!' * 72}\n!!! No chromium at {CHROMIUM}: SKIPPED the admin browser test.\n"
            f"!!! Install it with `make install-browser` (apt-get install -y chromium).\n{'!' * 72}"
        )
        print(message, file=sys.stderr)
        pytest.skip(message)


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium page. Playwright's sync API runs an event loop in this thread, so
    the test does its ORM work before and after this block, never inside it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


@pytest.fixture
def static_root(tmp_path: Path) -> Path:
    """The admin's CSS and JS collected as a deployment would (`manage.py collectstatic`)."""
    root = tmp_path / "static"
    env = {**os.environ, "STATIC_ROOT": str(root), "DEBUG": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    return root


def _operator() -> None:
    user = User.objects.create_user("operator", is_staff=True)
    # Hashed the way the server checks it (the test settings hash with MD5 for speed).
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_product", "change_product", "view_order", "change_order"]
        )
    )


def test_operator_restocks_and_ships_in_the_admin(live_server_factory, static_root):
    # given: a product, a customer's order for 2 of its 5 units, a staff operator
    _require_chromium()
    products_create({"SKU-1": 5})
    customer_token = user_token("alice")
    customer = User.objects.get(username="alice")
    order = order_place(user=customer, lines={"SKU-1": 2}, partial=False).order
    _operator()
    server = live_server_factory(workers=2, env={"STATIC_ROOT": str(static_root)})
    with chromium() as page:
        _operate(page, server.url, order.id)

    # then: the API agrees
    api = api_session(customer_token)
    product = api.get(f"{server.url}/products/SKU-1", timeout=10)
    seen = api.get(f"{server.url}/orders/{order.id}", timeout=10)
    assert product.status_code == 200
    assert product.json()["product_count"] == 5 - 2 + 7
    assert seen.status_code == 200
    assert seen.json()["order_status"] == "shipped"
    assert seen.json()["products"] == [
        {"product_id": "SKU-1", "item_count": 2, "unit_price": "0.00", "line_total": "0.00"}
    ]


def _operate(page: Any, url: str, order_id: str) -> None:
    """What the operator does in the browser, with what the pages show along the way."""
    # when: log in
    page.goto(f"{url}/admin/login/?next=/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert "Site administration" in page.title()
    # the admin's stylesheet is served (whitenoise, DEBUG off)
    css = requests.get(f"{url}/static/admin/css/base.css", timeout=10)
    assert css.status_code == 200
    assert "text/css" in css.headers["Content-Type"]

    # when: restock 7 units from the product's page
    page.goto(f"{url}/admin/inventory/product/SKU-1/change/")
    assert page.inner_text(".field-product_count .readonly").strip() == "3"
    page.fill("#id_restock", "7")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")

    # when: move the order to processing, then to shipped
    for status in ("processing", "shipped"):
        page.goto(f"{url}/admin/orders/order/{quote(order_id)}/change/")
        page.select_option("#id_status", status)
        page.click("input[name=_save]")
        page.wait_for_selector(".messagelist .success")

    # then: the admin lists it as shipped...
    page.goto(f"{url}/admin/orders/order/?status__exact=shipped")
    assert order_id in page.inner_text("#result_list")
    # ...a shipped order offers no way back...
    page.goto(f"{url}/admin/orders/order/{quote(order_id)}/change/")
    options = page.eval_on_selector_all("#id_status option", "els => els.map(e => e.value)")
    assert options == ["shipped", "delivered"]
