"""Standard Webhooks signatures: the spec's published test vector, and real deliveries checked
by an independent implementation (hmac, here)."""

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from orderservice.events.signing import new_secret, signed_headers
from tests.events.conftest import work_until, write_events
from tests.events.receiver import Received, Receiver


def _verify(secret: str, received: Received) -> bool:
    """Standard Webhooks verification, written from the spec."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    headers = received.headers
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + received.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        version == "v1" and hmac.compare_digest(signature, expected)
        for version, _, signature in (
            s.partition(",") for s in headers["webhook-signature"].split()
        )
    )


def test_the_published_test_vector():
    headers = signed_headers(
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        body=b'{"test": 2432232314}',
        at=datetime.fromtimestamp(1614265330, tz=UTC),
    )

    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


def test_secrets_are_fresh_whsec_base64():
    first, second = new_secret(), new_secret()

    assert first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_webhooks")
def test_a_delivery_verifies_independently_and_is_the_feeds_event(
    client_staff: APIClient, receiver_factory: Callable[..., Receiver]
):
    # given: a receiver that fails once, then takes it
    receiver = receiver_factory(lambda n: (500 if n == 0 else 204, 0.0))
    created = client_staff.post(
        "/webhooks", {"url": receiver.url, "events": ["order.*"]}, format="json"
    ).json()
    write_events(1)

    # when
    work_until(lambda: len(receiver.delivered_ids()) == 1)

    # then: two attempts, one webhook-id (the event's), each signed for its own timestamp
    first, second = receiver.received
    feed = client_staff.get("/events").json()["results"]
    assert first.webhook_id == second.webhook_id == feed[0]["event_id"]
    for request in (first, second):
        assert _verify(created["secret"], request)
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
        assert request.headers["content-type"] == "application/json"
        assert request.json() == feed[0]
    assert not _verify(new_secret(), first)
