"""Sessions, CSRF, login and messages run for the admin only: the admin keeps its protection,
the API pays for none of it and sets no cookie.

(The admin's views are csrf_protect'ed themselves too; the middleware tests below show that the
middleware protects admin paths on its own.)"""

import re
from typing import Any

import pytest
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import User
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.test import Client, RequestFactory, override_settings
from rest_framework.test import APIClient

from orderservice.api import checks
from orderservice.api.middleware import (
    AdminAuthenticationMiddleware,
    AdminCsrfViewMiddleware,
    AdminMessageMiddleware,
    AdminSessionMiddleware,
)
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


# --- the wrappers themselves -----------------------------------------------------------------


def plain_view(request: HttpRequest) -> HttpResponse:  # no csrf_protect, no csrf_exempt
    return HttpResponse("ok")


def chain(request: HttpRequest) -> tuple[HttpRequest, Any]:
    """The request through the four admin-only middlewares, in settings order, to plain_view."""

    def view_with_csrf_check(request: HttpRequest) -> HttpResponse:
        refused = csrf.process_view(request, plain_view, (), {})
        return refused or plain_view(request)

    messages: Any = AdminMessageMiddleware(view_with_csrf_check)
    authentication: Any = AdminAuthenticationMiddleware(messages)
    csrf: Any = AdminCsrfViewMiddleware(authentication)
    session: Any = AdminSessionMiddleware(csrf)
    return request, session(request)


@pytest.mark.parametrize("path", ["/admin/", "/admin/inventory/product/SKU-1/change/"])
def test_on_admin_paths_the_middlewares_do_their_work(path):
    request, response = chain(RequestFactory().post(path, {"name": "x"}))

    assert response.status_code == 403  # CSRF: the token is missing
    assert hasattr(request, "session")
    assert hasattr(request, "user")
    assert hasattr(request, "_messages")


@pytest.mark.parametrize("path", ["/orders", "/products/SKU-1", "/metrics", "/docs", "/administer"])
def test_elsewhere_the_request_goes_straight_through(path):
    request, response = chain(RequestFactory().post(path, {"name": "x"}))

    assert response.status_code == 200
    assert not hasattr(request, "session")
    assert not hasattr(request, "user")
    assert not hasattr(request, "_messages")
    assert not response.cookies


def test_the_wrappers_are_the_django_middlewares_for_the_checks():
    assert issubclass(AdminSessionMiddleware, SessionMiddleware)
    assert issubclass(AdminCsrfViewMiddleware, CsrfViewMiddleware)
    assert issubclass(AdminAuthenticationMiddleware, AuthenticationMiddleware)
    assert issubclass(AdminMessageMiddleware, MessageMiddleware)


# --- the system check that stands in for Django's security.W003 ------------------------------


def test_check_is_clean_with_the_admin_csrf_middleware():
    assert checks.check_csrf_middleware(None) == []


def test_check_warns_without_any_csrf_middleware(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "Csrf" not in m]

    assert [m.id for m in checks.check_csrf_middleware(None)] == ["orderservice.W003"]


@override_settings(CSRF_COOKIE_SECURE=False)
def test_check_warns_about_an_insecure_csrf_cookie():
    assert [m.id for m in checks.check_csrf_middleware(None)] == ["security.W016"]
