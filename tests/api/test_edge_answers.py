"""Small answers at the edge: 406 for a media type the API cannot answer, and links built on
PUBLIC_BASE_URL (never on the client's Host) when it is set."""

from urllib.parse import urlsplit

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from orderservice.api import errors
from tests.api.support import assert_error, json_body
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

NOT_ACCEPTABLE = "Not acceptable. This API answers application/json."


# --- 406 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/products", "/orders", "/products/SKU-1"])
@pytest.mark.parametrize("accept", ["application/xml", "text/html", "image/*"])
def test_a_media_type_the_api_cannot_answer_is_406(client_user: APIClient, path, accept):
    assert_error(client_user.get(path, HTTP_ACCEPT=accept), 406, NOT_ACCEPTABLE, "not-acceptable")


@pytest.mark.parametrize("accept", ["application/json", "*/*", "application/*", "text/xml, */*"])
def test_json_or_anything_is_answered(client_user: APIClient, accept):
    assert client_user.get("/products", HTTP_ACCEPT=accept).status_code == 200


def test_406_is_in_the_catalogue_and_on_the_error_page():
    assert errors.NOT_ACCEPTABLE in errors.CATALOGUE
    page = Client().get("/docs/errors").content.decode()
    assert 'id="not-acceptable"' in page
    assert NOT_ACCEPTABLE in page


# --- PUBLIC_BASE_URL -----------------------------------------------------------------------------


def _two_pages(client: APIClient, host: str) -> dict:
    for n in range(2):
        ProductFactory.create(product_id=f"P-{n}")
    return json_body(client.get("/products", {"limit": "1"}, HTTP_HOST=host))


def test_without_a_public_base_links_follow_the_requests_host(client_user: APIClient):
    page = _two_pages(client_user, "testserver:8443")

    assert urlsplit(page["next"]).netloc == "testserver:8443"


@override_settings(PUBLIC_BASE_URL="https://orders.example.com/")
def test_with_a_public_base_links_never_echo_the_clients_host(client_user: APIClient):
    # when: a client names an allowed host with a port of its choosing
    page = _two_pages(client_user, "testserver:6666")
    error = client_user.get("/orders/nope", HTTP_HOST="testserver:6666").json()

    # then
    assert page["next"].startswith("https://orders.example.com/products?")
    next_page = client_user.get(urlsplit(page["next"]).path + "?" + urlsplit(page["next"]).query)
    assert [p["product_id"] for p in json_body(next_page)["results"]] == ["P-1"]
    assert error["documentation"] == "https://orders.example.com/docs/errors#invalid-request"


@override_settings(
    PUBLIC_BASE_URL="https://orders.example.com",
    ERROR_DOCS_BASE_URL="https://docs.example.com/errors",
)
def test_the_error_docs_base_wins_for_the_documentation_link(client_user: APIClient):
    error = client_user.get("/orders/nope").json()

    assert error["documentation"] == "https://docs.example.com/errors#invalid-request"
