"""Webhook endpoints (staff): create (the secret shown once, stored encrypted), list, view,
change, delete (SPEC §12)."""

import base64
import re

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings
from rest_framework.test import APIClient

from orderservice.events.keys import secret_decrypt
from orderservice.events.models import WebhookEndpoint

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_webhooks")]

URL = "http://127.0.0.1:9/hook"


def _create(client: APIClient, **body: object) -> dict:
    response = client.post("/webhooks", {"url": URL, "events": ["order.*"], **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_answers_201_with_the_secret_once(client_staff: APIClient):
    # when
    response = client_staff.post(
        "/webhooks",
        {"url": URL, "events": ["order.*", "product.out_of_stock"], "description": "warehouse"},
        format="json",
    )

    # then
    assert response.status_code == 201
    body = response.json()
    assert list(body) == [
        "webhook_id", "url", "events", "description", "enabled", "created_at", "secret"
    ]  # fmt: skip
    assert re.fullmatch(r"wh_[0-9a-f]{24}", body["webhook_id"])
    assert response["Location"] == f"/webhooks/{body['webhook_id']}"
    assert body["events"] == ["order.*", "product.out_of_stock"]
    assert (body["description"], body["enabled"]) == ("warehouse", True)
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
    # never shown again
    shown = client_staff.get(f"/webhooks/{body['webhook_id']}").json()
    assert "secret" not in shown
    assert body["secret"] not in str(client_staff.get("/webhooks").content)


def test_the_secret_is_stored_encrypted_with_the_key_from_the_environment(client_staff):
    created = _create(client_staff)

    stored = WebhookEndpoint.objects.get().secret_encrypted

    assert created["secret"] not in stored
    assert secret_decrypt(stored) == created["secret"]
    with override_settings(WEBHOOK_SECRET_KEYS=[Fernet.generate_key().decode()]):
        with pytest.raises(Exception, match="No key in WEBHOOK_SECRET_KEYS"):
            secret_decrypt(stored)


def test_a_rotated_key_list_still_opens_old_secrets(client_staff: APIClient, settings):
    created = _create(client_staff)
    old = list(settings.WEBHOOK_SECRET_KEYS)

    settings.WEBHOOK_SECRET_KEYS = [Fernet.generate_key().decode(), *old]
    from orderservice.events.services import webhook_secrets_reencrypt

    assert webhook_secrets_reencrypt() == 1
    settings.WEBHOOK_SECRET_KEYS = settings.WEBHOOK_SECRET_KEYS[:1]
    assert secret_decrypt(WebhookEndpoint.objects.get().secret_encrypted) == created["secret"]


def test_list_get_patch_delete(client_staff: APIClient):
    # given
    first = _create(client_staff)
    second = _create(client_staff, events=["product.*"])

    # list: newest first, paginated like orders
    page = client_staff.get("/webhooks?limit=1").json()
    assert [w["webhook_id"] for w in page["results"]] == [second["webhook_id"]]
    rest = client_staff.get(page["next"]).json()
    assert [w["webhook_id"] for w in rest["results"]] == [first["webhook_id"]]
    assert rest["next"] is None

    # patch
    path = f"/webhooks/{first['webhook_id']}"
    response = client_staff.patch(
        path, {"enabled": False, "events": ["order.cancelled"]}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["enabled"], response.json()["events"]) == (False, ["order.cancelled"])
    url = "http://127.0.0.1:8/other"
    assert client_staff.patch(path, {"url": url}, format="json").json()["url"] == url
    assert client_staff.get(path).json()["enabled"] is False

    # delete
    assert client_staff.delete(path).status_code == 204
    assert client_staff.get(path).status_code == 404
    assert client_staff.delete(path).status_code == 404


def test_webhooks_are_for_staff_only(client_user: APIClient, client_staff: APIClient):
    webhook_id = _create(client_staff)["webhook_id"]

    assert client_user.get("/webhooks").status_code == 403
    assert client_user.post("/webhooks", {"url": URL, "events": ["order.*"]}).status_code == 403
    assert client_user.get(f"/webhooks/{webhook_id}").status_code == 403
    assert client_user.get(f"/webhooks/{webhook_id}/deliveries").status_code == 403
    assert APIClient().get("/webhooks").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["order.*"]}, "url"),
        ({"url": URL}, "events"),
        ({"url": URL, "events": []}, "events"),
        ({"url": URL, "events": ["order.shipped"]}, "events[0]"),
        ({"url": URL, "events": "order.*"}, "events"),
        ({"url": 7, "events": ["order.*"]}, "url"),
        ({"url": URL, "events": ["order.*"], "secret": "mine"}, "secret"),
        ({"url": URL, "events": ["order.*"], "description": "x" * 501}, "description"),
        ({"url": "ftp://example.com/hook", "events": ["order.*"]}, "url"),
        ({"url": "http://user:pw@127.0.0.1/hook", "events": ["order.*"]}, "url"),
        ({"url": "http://127.0.0.1:99999/hook", "events": ["order.*"]}, "url"),
        ({"url": "not a url", "events": ["order.*"]}, "url"),
    ],
)
def test_invalid_bodies_are_400_naming_the_field(client_staff: APIClient, body: dict, field: str):
    response = client_staff.post("/webhooks", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["details"], response.json()


@pytest.mark.parametrize(
    "body", [{}, {"enabled": "yes"}, {"enabled": 1}, {"secret": "x"}, {"events": []}]
)
def test_invalid_patches_are_400(client_staff: APIClient, body: dict):
    webhook_id = _create(client_staff)["webhook_id"]

    assert client_staff.patch(f"/webhooks/{webhook_id}", body, format="json").status_code == 400


def test_unknown_and_malformed_ids(client_staff: APIClient):
    missing = "wh_" + "0" * 24

    assert client_staff.get(f"/webhooks/{missing}").status_code == 404
    patch = client_staff.patch(f"/webhooks/{missing}", {"enabled": True}, format="json")
    assert patch.status_code == 404
    assert client_staff.get(f"/webhooks/{missing}/deliveries").status_code == 404
    retry = f"/webhooks/{missing}/deliveries/dlv_{'0' * 24}/retry"
    assert client_staff.post(retry).status_code == 404
    response = client_staff.get("/webhooks/nope")
    assert response.status_code == 400
    assert response.json()["details"] == {"webhook_id": ["Not a webhook id of this service."]}


def test_https_only_unless_allowed(client_staff: APIClient):
    with override_settings(WEBHOOK_ALLOW_HTTP=False):
        response = client_staff.post(
            "/webhooks", {"url": URL, "events": ["order.*"]}, format="json"
        )

    assert response.status_code == 400
    assert response.json()["details"] == {"url": ["Must be an https:// URL."]}
