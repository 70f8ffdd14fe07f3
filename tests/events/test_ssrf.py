"""The SSRF guard: no webhook to a loopback, private, link-local, metadata or otherwise internal
address, however it is spelt, checked when saved and again at delivery; redirects not followed."""

import ipaddress
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from orderservice.common import clock
from orderservice.events.delivery import attempt
from orderservice.events.models import Delivery, Event
from orderservice.events.relay import Claim
from orderservice.events.signing import new_secret
from orderservice.events.urlguard import address_is_internal
from tests.events.conftest import attempts, subscribe, work_until, write_events
from tests.events.receiver import Receiver

_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names the resolver answers with the addresses the test sets (others resolve as usual)."""
    names: dict[str, list[str]] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port))
                for a in names[host]
            ]  # fmt: skip
        return _real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
        "169.254.1.1", "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.1.1.1", "255.255.255.255",
        "240.0.0.1", "192.0.2.1", "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "2002:7f00:1::1",
        "2001:db8::1",
    ],
)  # fmt: skip
def test_internal_addresses(address: str):
    assert address_is_internal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111",
                                     "::ffff:8.8.8.8", "64:ff9b::808:808"])  # fmt: skip
def test_public_addresses(address: str):
    assert not address_is_internal(ipaddress.ip_address(address))


def _post(client: APIClient, url: str) -> Any:
    return client.post("/webhooks", {"url": url, "events": ["order.*"]}, format="json")


@pytest.mark.django_db
@override_settings(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE=False)
@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/hook",
        "http://127.0.0.1/hook",
        "http://127.1/hook",
        "http://2130706433/hook",  # decimal
        "http://0x7f000001/hook",  # hex
        "http://0x7f.0.0.1/hook",
        "http://0177.0.0.1/hook",  # octal (which the sender would not even parse)
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:7f00:1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://0.0.0.0:8000/hook",
        "http://10.0.0.8/hook",
        "http://internal.test/hook",  # a name that resolves to a private address
        "http://mixed.test/hook",  # one public, one loopback address
        "http://metadata.test/hook",
    ],
)
def test_internal_targets_are_refused_with_400_naming_url(
    client_staff: APIClient, dns: dict[str, list[str]], url: str
):
    dns.update(
        {
            "internal.test": ["10.20.30.40"],
            "mixed.test": ["93.184.216.34", "127.0.0.1"],
            "metadata.test": ["169.254.169.254"],
        }
    )

    response = _post(client_staff, url)

    assert response.status_code == 400, response.json()
    [message] = response.json()["details"]["url"]
    if "0177" in url:
        assert message == "Must be a valid URL."
    else:
        assert message.startswith("Must not point to a loopback, private, link-local")


@pytest.mark.django_db
@override_settings(WEBHOOK_ALLOW_PRIVATE=False)
def test_a_public_https_target_is_accepted_and_a_name_that_does_not_resolve_is_not(
    client_staff: APIClient, dns: dict[str, list[str]]
):
    dns["hooks.example.com"] = ["93.184.216.34"]

    assert _post(client_staff, "https://hooks.example.com/orders").status_code == 201
    response = _post(client_staff, "https://no-such-host.invalid/orders")
    assert response.status_code == 400
    assert response.json()["details"] == {
        "url": ["The host no-such-host.invalid does not resolve."]
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_webhooks")
def test_delivery_checks_again_and_a_rebound_name_gets_nothing(
    receiver_factory: Callable[..., Receiver], dns: dict[str, list[str]]
):
    # given: a name that was public when saved, and now points at the receiver on 127.0.0.1
    receiver = receiver_factory()
    port = receiver.url.split(":")[2].split("/")[0]
    dns["rebind.test"] = ["93.184.216.34"]
    with override_settings(WEBHOOK_ALLOW_PRIVATE=False):
        subscribe(f"http://rebind.test:{port}/hook")
        dns["rebind.test"] = ["127.0.0.1"]
        write_events(1)

        # when
        work_until(lambda: [len(a) for a in attempts()] == [1])

    # then
    attempt = Delivery.objects.get().attempts[0]
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("refused: Must not point to a loopback")
    assert receiver.received == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_webhooks")
def test_delivery_connects_to_the_address_checked_with_the_name_as_host(
    receiver_factory: Callable[..., Receiver], dns: dict[str, list[str]]
):
    receiver = receiver_factory()
    port = receiver.url.split(":")[2].split("/")[0]
    dns["hooks.test"] = ["127.0.0.1"]
    subscribe(f"http://hooks.test:{port}/hook")
    write_events(1)

    work_until(lambda: bool(receiver.delivered_ids()))

    assert receiver.received[0].headers["host"] == f"hooks.test:{port}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_webhooks")
def test_redirects_are_not_followed(receiver_factory: Callable[..., Receiver]):
    receiver = receiver_factory(lambda n: (302, 0.0))  # Location: the metadata service
    subscribe(receiver.url)
    write_events(1)

    work_until(lambda: [len(a) for a in attempts()] == [1])

    delivery = Delivery.objects.get()
    assert delivery.attempts[0]["status_code"] == 302
    assert delivery.status == "pending"  # a failed attempt: retried on schedule
    assert len(receiver.received) == 1


@override_settings(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_TIMEOUT_SECONDS=0.3)
def test_a_hanging_resolver_counts_against_the_time_limit(monkeypatch: pytest.MonkeyPatch):
    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(2)
        return _real_getaddrinfo(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    event = Event(
        event_id="evt_" + "0" * 32, type="order.updated", created_at=clock.now(), data="{}"
    )
    claim = Claim("dlv_1", "lease", "wh_1", "http://slow.test/hook", new_secret(), event)

    started = time.monotonic()
    outcome = attempt(claim)

    assert outcome.error == "no answer within 0.3 s"
    assert time.monotonic() - started < 1.5
