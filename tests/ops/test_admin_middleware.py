"""Django's session, CSRF, login and messages middlewares protect the admin; the API, which
authenticates by token, needs no CSRF token and sets no cookie."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from orderservice.inventory.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff() -> User:
    return User.objects.create_superuser("root", password=PASSWORD)


def csrf_token(page: bytes) -> str:
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "the admin form carries no CSRF token"
    return match.group(1).decode()


def login_form(username: str = "root", password: str = PASSWORD) -> dict[str, str]:
    return {"username": username, "password": password, "next": "/admin/"}


def test_admin_login_without_a_csrf_token_is_refused(staff):
    browser = Client(enforce_csrf_checks=True)
    browser.get("/admin/login/")  # the CSRF cookie is set, but the form's token is not sent

    refused = browser.post("/admin/login/", login_form())

    assert refused.status_code == 403
    assert b"CSRF" in refused.content
    assert browser.get("/admin/").status_code == 302  # still not logged in


def test_admin_login_with_the_token_opens_a_session_that_works(staff):
    # given
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/admin/login/")
    assert page.status_code == 200
    assert "csrftoken" in page.cookies

    # when
    logged_in = browser.post(
        "/admin/login/", {**login_form(), "csrfmiddlewaretoken": csrf_token(page.content)}
    )

    # then
    assert logged_in.status_code == 302
    assert logged_in["Location"] == "/admin/"
    assert "sessionid" in logged_in.cookies
    home = browser.get("/admin/")
    assert home.status_code == 200
    assert b"root" in home.content


def test_wrong_password_is_refused_with_the_token(staff):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/admin/login/")

    response = browser.post(
        "/admin/login/",
        {**login_form(password="wrong"), "csrfmiddlewaretoken": csrf_token(page.content)},
    )

    assert response.status_code == 200  # the form again, with an error
    assert "sessionid" not in response.cookies


def test_a_change_form_post_needs_the_csrf_token(staff):
    # given: a logged-in operator whose browser is made to post from another site
    ProductFactory(product_id="SKU-1", name="Old", product_count=10)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff)
    url = "/admin/inventory/product/SKU-1/change/"
    page = browser.get(url)
    form = {"name": "New", "restock": "", "set_stock": "3"}

    # when
    forged = browser.post(url, form)
    genuine = browser.post(url, {**form, "csrfmiddlewaretoken": csrf_token(page.content)})

    # then
    assert forged.status_code == 403
    assert genuine.status_code == 302, genuine.content[:2000]
    product = Product.objects.get(product_id="SKU-1")
    assert (product.name, product.product_count) == ("New", 3)


def test_messages_still_reach_the_admin_after_a_change(staff):
    ProductFactory(product_id="SKU-1", name="Old", product_count=10)
    browser = Client()
    browser.force_login(staff)
    url = "/admin/inventory/product/SKU-1/change/"

    response = browser.post(url, {"name": "New", "restock": "", "set_stock": ""}, follow=True)

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]], "no success message shown"


def test_the_api_sets_no_cookie_and_ignores_an_admin_session(staff, client_user):
    # given: a browser logged in to the admin
    browser = Client()
    browser.force_login(staff)
    ProductFactory(product_id="SKU-1", product_count=10)

    # when
    with_session = browser.get("/products/SKU-1")
    with_token = client_user.get("/products/SKU-1")
    posted = client_user.post(
        "/orders", {"products": [{"product_id": "SKU-1", "item_count": 1}]}, format="json"
    )

    # then: the session is no credential for the API; the API never answers with a cookie
    assert with_session.status_code == 401
    assert (with_token.status_code, posted.status_code) == (200, 200)
    for response in (with_session, with_token, posted):
        assert not response.cookies
        assert "Cookie" not in response.get("Vary", "")


def test_a_token_post_needs_no_csrf_token():
    client = APIClient(enforce_csrf_checks=True)

    response = client.post("/orders", {}, format="json")

    assert response.status_code == 401  # the token is what is missing, not a CSRF token


@pytest.mark.parametrize("path", ["/orders", "/products/SKU-1", "/metrics", "/docs", "/administer"])
def test_outside_the_admin_a_session_post_is_not_csrf_checked_and_gets_no_cookie(staff, path):
    # given: a browser logged in to the admin, with its CSRF cookie, posting without the token
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff)
    browser.get("/admin/")  # its logout form sets the CSRF cookie
    assert "csrftoken" in browser.cookies

    # when
    response = browser.post(path, {"name": "x"})

    # then: the API's own answer (401, 405, 404), not CSRF's 403; no cookie
    assert response.status_code != 403
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")
