"""A client's own X-Forwarded-For through the stack neither dodges nor aims the per-IP limit.

A stack of its own with a low per-IP limit (one app server, one worker, Redis counters). Each
client connects to nginx from an address of its own on loopback (127.0.0.x: Linux routes all of
127/8 to lo), so nginx sees each one's real address, as it would on a network.
"""

import http.client
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.live import user_token
from tests.stack.conftest import Stack, running_stack

pytestmark = pytest.mark.postgres

LIMIT = 5  # THROTTLE_RATE_IP: per client address and day
DAY = 86_400


@pytest.fixture(scope="module")
def stack(django_db_setup: None) -> Iterator[Stack]:
    overrides = {
        "THROTTLE_RATE_IP": f"{LIMIT}/d",
        # Counters of this run only, in the shared Redis.
        "CACHE_KEY_PREFIX": f"orderservice-stack-xff-{uuid.uuid4().hex}",
    }
    with running_stack(apps=1, workers=1, overrides=overrides) as running:
        yield running


@pytest.fixture(autouse=True)
def same_window() -> None:
    # The limit counts in windows aligned on the clock (a UTC day here): never straddle two.
    left = DAY - time.time() % DAY
    if left < 30:
        time.sleep(left + 1)


def get_from(
    stack: Stack, source: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str]]:
    """GET through nginx from the loopback address `source`: (status, headers)."""
    port = int(stack.url.rpartition(":")[2])
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=10, source_address=(source, 0)
    )
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status, {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()


SPOOFS = [
    {"X-Forwarded-For": "203.0.113.7"},
    {"X-Forwarded-For": "198.51.100.1, 127.0.0.1"},
    {"X-Forwarded-For": "127.0.0.1"},
    {"X-Real-IP": "203.0.113.8", "X-Forwarded-For": "203.0.113.9"},
    {"Forwarded": "for=203.0.113.10", "X-Forwarded-For": "10.0.0.1"},
    {"X-Forwarded-For": "2001:db8::1"},
    {"X-Forwarded-For": "203.0.113.11"},
]


def test_a_new_forwarded_address_each_request_does_not_dodge_the_limit(stack):
    # Guessing keys from one address, each request claiming another client's address.
    statuses = [
        get_from(stack, "127.0.0.3", "/products", headers)[0] for headers in SPOOFS[: LIMIT + 2]
    ]

    assert statuses == [401] * LIMIT + [429, 429]


@pytest.mark.django_db(transaction=True)
def test_claiming_anothers_address_does_not_aim_the_limit_at_it(stack):
    victim = {"Authorization": f"Token {user_token('victim')}"}
    claim = {"X-Forwarded-For": "127.0.0.2"}

    attacker = [get_from(stack, "127.0.0.4", "/products", claim)[0] for _ in range(LIMIT + 2)]
    answers = [get_from(stack, "127.0.0.2", "/products", victim) for _ in range(LIMIT)]
    refused = get_from(stack, "127.0.0.2", "/products", victim)

    assert attacker == [401] * LIMIT + [429, 429]  # counted on its own address
    assert [status for status, _ in answers] == [200] * LIMIT  # the victim's allowance is whole
    status, headers = refused
    assert status == 429  # and it is the victim's own sixth request that is refused
    assert int(headers["retry-after"]) >= 1
