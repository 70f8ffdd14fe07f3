"""Small answers at the edge: 406 for a media type the API cannot answer."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from orderservice.api import errors
from tests.api.support import assert_error

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
