"""Sessions, Django's auth and messages on the HTML paths only: the API answers exactly as with
Django's own middleware everywhere, and the admin still has its session, user and messages."""

from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

DJANGO_OWN = {
    "orderservice.api.middleware.SessionMiddleware": (
        "django.contrib.sessions.middleware.SessionMiddleware"
    ),
    "orderservice.api.middleware.AuthenticationMiddleware": (
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    ),
    "orderservice.api.middleware.MessageMiddleware": (
        "django.contrib.messages.middleware.MessageMiddleware"
    ),
}
# Differ from one request to the next whatever the middleware.
VOLATILE = {"Date", "X-Request-ID", "ETag"}


def _answers(client: APIClient) -> list[tuple[int, dict[str, str], bytes]]:
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("get", "/products/SKU-HTML", {}),
        ("get", "/products", {}),
        ("get", "/orders", {}),
        ("post", "/orders", {"data": {"products": []}, "format": "json"}),
        ("post", "/orders", {"data": b"{", "content_type": "application/json"}),
        ("get", "/healthz", {}),
        ("get", "/no-such-thing", {}),
        ("delete", "/products", {}),
    ]
    answers = []
    for method, path, kwargs in requests:
        response = getattr(client, method)(path, **kwargs)
        headers = {k: v for k, v in response.headers.items() if k not in VOLATILE}
        answers.append((response.status_code, headers, response.content))
    return answers


def test_the_api_answers_the_same_as_with_djangos_own_middleware(make_client):
    ProductFactory(product_id="SKU-HTML", product_count=3)
    # A client builds its middleware chain on its first request: new clients for each stack.
    lean = _answers(make_client("html-paths")) + _answers(APIClient())
    own = [DJANGO_OWN.get(path, path) for path in settings.MIDDLEWARE]
    assert own != settings.MIDDLEWARE
    with override_settings(MIDDLEWARE=own):
        full = _answers(make_client("html-paths")) + _answers(APIClient())
        assert hasattr(APIClient().get("/healthz").wsgi_request, "session")  # Django's own ran

    assert lean == full
    assert all("Set-Cookie" not in headers for _, headers, _ in lean)


def test_the_admin_keeps_its_session_user_and_csrf_cookie(client):
    login_page = client.get("/admin/login/")
    assert login_page.status_code == 200
    assert "csrftoken" in login_page.cookies

    staff = UserFactory(username="html-admin", is_staff=True, is_superuser=True)
    client.force_login(staff)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert index.wsgi_request.user == staff
    assert hasattr(index.wsgi_request, "_messages")


def test_on_the_api_paths_the_request_carries_no_session():
    response = APIClient().get("/healthz")
    assert not hasattr(response.wsgi_request, "session")
    assert not hasattr(response.wsgi_request, "_messages")
