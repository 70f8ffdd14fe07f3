"""Forwarded headers count only from a trusted proxy (TRUSTED_PROXIES): the per-IP limit keys on
the real client address, X-Forwarded-Proto makes no one secure; and the admin login is throttled.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from orderservice.api import proxy, throttling

pytestmark = pytest.mark.django_db

THROTTLED = "Too many requests. Retry later."
CLIENT = "198.51.100.7"  # the victim
ATTACKER = "203.0.113.66"


def rates(**scopes: str | None) -> Any:
    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"user": None, "ip": None, "admin_login": None, **scopes},
        }
    )


@pytest.fixture(autouse=True)
def _fresh_counters(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    caches["default"].clear()
    throttling.local_counts_clear()
    # A fixed clock in the middle of a minute: windows don't roll over during a test.
    monkeypatch.setattr(throttling.FixedWindowThrottle, "timer", staticmethod(lambda: 6_000_030.0))
    yield
    caches["default"].clear()
    throttling.local_counts_clear()


# --- the per-IP limit --------------------------------------------------------------------------


def test_a_new_forwarded_for_each_request_does_not_dodge_the_per_ip_limit():
    # given: a client guessing keys, claiming another address on every request
    guessing = APIClient(REMOTE_ADDR=ATTACKER)
    guessing.credentials(HTTP_AUTHORIZATION="Token guessed-key")

    with rates(ip="3/min"):
        # when
        answers = [
            guessing.get("/products", HTTP_X_FORWARDED_FOR=f"10.0.{n}.1").status_code
            for n in range(20)
        ]

    # then
    assert answers == [401] * 3 + [429] * 17


def test_forwarded_for_naming_another_client_does_not_lock_that_client_out(make_client):
    # given: an attacker spends the victim's allowance, claiming its address
    attacker = APIClient(REMOTE_ADDR=ATTACKER)
    victim = make_client("alice")

    with rates(ip="5/min"):
        # when
        for _ in range(5):
            attacker.get("/products", HTTP_X_FORWARDED_FOR=CLIENT)
        answer = victim.get("/products", REMOTE_ADDR=CLIENT)

    # then
    assert answer.status_code == 200


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(make_client):
    # given: two clients behind the proxy at 127.0.0.1, one sending its own X-Forwarded-For
    alice = make_client("alice")

    with rates(ip="2/min"):
        # when
        first = [
            alice.get("/products", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, {CLIENT}").status_code
            for n in range(3)
        ]
        other = alice.get("/products", HTTP_X_FORWARDED_FOR="192.0.2.1").status_code

    # then: the right-most address the proxy appended is the client, whatever came before it
    assert first == [200, 200, 429]
    assert other == 200


# --- the client address --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "client"),
    [
        pytest.param([], ATTACKER, CLIENT, ATTACKER, id="no-proxy-trusted"),
        pytest.param(["127.0.0.1"], ATTACKER, CLIENT, ATTACKER, id="peer-not-a-proxy"),
        pytest.param(["127.0.0.1"], "127.0.0.1", None, "127.0.0.1", id="proxy-without-header"),
        pytest.param(["127.0.0.1"], "127.0.0.1", "", "127.0.0.1", id="proxy-empty-header"),
        pytest.param(["127.0.0.1"], "127.0.0.1", CLIENT, CLIENT, id="one-proxy"),
        pytest.param(
            ["127.0.0.1"], "127.0.0.1", f"6.6.6.6, {CLIENT}", CLIENT, id="spoofed-left-part"
        ),
        pytest.param(
            ["127.0.0.1", "10.0.0.0/8"],
            "127.0.0.1",
            f"6.6.6.6,{CLIENT} , 10.1.2.3",
            CLIENT,
            id="two-proxies",
        ),
        pytest.param(
            ["127.0.0.1", "10.0.0.0/8"], "127.0.0.1", "10.0.0.5", "10.0.0.5", id="all-trusted"
        ),
        pytest.param(["127.0.0.1"], "127.0.0.1", "not-an-address", "127.0.0.1", id="garbage-entry"),
        pytest.param(["::1"], "::1", "2001:db8::7", "2001:db8::7", id="ipv6"),
    ],
)
def test_client_address(trusted, remote, forwarded, client):
    headers = {} if forwarded is None else {"HTTP_X_FORWARDED_FOR": forwarded}
    request = RequestFactory().get("/", REMOTE_ADDR=remote, **headers)

    with override_settings(TRUSTED_PROXIES=trusted):
        assert proxy.client_address(request) == client


@pytest.mark.parametrize("bad", ["example.com", "10.0.0.1/8", "300.1.1.1"])
def test_a_malformed_trusted_proxy_is_a_configuration_error(bad):
    with override_settings(TRUSTED_PROXIES=[bad]), pytest.raises(ImproperlyConfigured, match=bad):
        proxy.trusted_networks()


# --- X-Forwarded-Proto ---------------------------------------------------------------------------


def test_forwarded_proto_from_an_untrusted_peer_does_not_make_the_request_secure():
    # when
    answer = Client(REMOTE_ADDR=ATTACKER).get("/nowhere", HTTP_X_FORWARDED_PROTO="https")

    # then: the documentation link is built from the request's real scheme
    assert answer.status_code == 404
    assert answer.json()["documentation"] == "http://testserver/docs/errors#not-found"


@override_settings(SECURE_SSL_REDIRECT=True)
def test_forwarded_proto_from_an_untrusted_peer_is_still_redirected_to_https():
    answer = Client(REMOTE_ADDR=ATTACKER).get("/products", HTTP_X_FORWARDED_PROTO="https")

    assert answer.status_code == 301
    assert answer["Location"] == "https://testserver/products"


@override_settings(TRUSTED_PROXIES=["127.0.0.1"], SECURE_SSL_REDIRECT=True)
def test_forwarded_proto_from_a_trusted_proxy_is_honoured():
    answer = Client().get("/nowhere", HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="testserver")

    assert answer.status_code == 404
    assert answer.json()["documentation"] == "https://testserver/docs/errors#not-found"


@pytest.mark.parametrize("trusted", [[], ["10.0.0.0/8"]])
def test_forwarded_headers_from_an_untrusted_peer_never_reach_the_views(trusted):
    request = RequestFactory().get(
        "/",
        REMOTE_ADDR=ATTACKER,
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_FOR=CLIENT,
        HTTP_X_FORWARDED_HOST="evil.example",
    )
    seen = {}

    def view(request):
        seen.update(request.META)
        seen["secure"] = request.is_secure()
        return HttpResponse()

    with override_settings(TRUSTED_PROXIES=trusted):
        proxy.ForwardedHeadersMiddleware(view)(request)

    assert seen["secure"] is False
    assert not {"HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST"} & set(
        seen
    )


@pytest.mark.parametrize(("https", "scheme"), [(None, "http"), ("on", "https")])
def test_a_scheme_the_server_took_from_an_untrusted_forwarded_proto_is_undone(https, scheme):
    # given: a server (uWSGI) that set the WSGI scheme from the client's X-Forwarded-Proto
    extra = {"wsgi.url_scheme": "https", "HTTP_X_FORWARDED_PROTO": "https"}
    if https:
        extra["HTTPS"] = https  # the server itself took TLS: https stays
    request = RequestFactory().get("/", REMOTE_ADDR=ATTACKER)
    request.META.update(extra)
    seen = {}

    def view(request):
        seen["scheme"] = request.scheme
        return HttpResponse()

    # when
    proxy.ForwardedHeadersMiddleware(view)(request)

    # then
    assert seen["scheme"] == scheme


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_a_scheme_from_a_trusted_proxys_forwarded_proto_stays():
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    request.META["wsgi.url_scheme"] = "https"
    seen = {}

    def view(request):
        seen["scheme"] = request.scheme
        return HttpResponse()

    proxy.ForwardedHeadersMiddleware(view)(request)

    assert seen["scheme"] == "https"


# --- the admin login -----------------------------------------------------------------------------


def _login(address: str) -> Any:
    return Client(REMOTE_ADDR=address).post(
        "/admin/login/", {"username": "root", "password": "wrong", "next": "/admin/"}
    )


def test_admin_login_attempts_are_limited_per_client_address():
    with rates(admin_login="3/min"):
        # when
        answers = [_login(ATTACKER) for _ in range(4)]
        other = _login(CLIENT)
        page = Client(REMOTE_ADDR=ATTACKER).get("/admin/login/")

    # then: the fourth attempt is refused before any password is hashed
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json() == {
        "error": THROTTLED,
        "documentation": "http://testserver/docs/errors#throttled",
    }
    assert refused["Retry-After"] == "30"  # the rest of the minute
    assert other.status_code == 200  # another address has its own allowance
    assert page.status_code == 200  # only the POSTs count


def test_admin_login_limit_has_a_default():
    assert throttling.parse_rate(api_settings.DEFAULT_THROTTLE_RATES["admin_login"]) == (10, 60)
