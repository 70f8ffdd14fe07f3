"""The plain Django views (not DRF) answer a wrong method with 405, never CSRF's HTML 403."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_an_operations_endpoint_answers_another_method_with_json_405(path: str, method: str):
    # given: a client that enforces CSRF like a browser-less caller meets it
    client = Client(enforce_csrf_checks=True)

    # when
    response = getattr(client, method)(path)

    # then
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert "GET" in response["Allow"]
    assert response.json()["documentation"].endswith("#method-not-allowed")


@pytest.mark.parametrize("path", ["/docs/errors", "/docs/assets/redoc/bundles/redoc.standalone.js"])
def test_a_docs_page_answers_post_with_405(path: str):
    # when
    response = Client(enforce_csrf_checks=True).post(path)

    # then
    assert response.status_code == 405
