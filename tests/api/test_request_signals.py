"""Django's request receivers dropped at start-up had nothing to do: the state each one would have
reset is already what it would have set, request after request."""

import time
import weakref

import pytest
from django.core import signals
from django.core.cache import close_caches
from django.core.handlers.base import reset_urlconf
from django.db import close_old_connections, connection, reset_queries
from django.test import override_settings
from django.urls import get_urlconf, resolve, reverse, set_urlconf

from orderservice.api.request_signals import drop_idle_receivers, idle_receivers
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/6",
    }
}
MEMCACHED = {
    "default": {
        "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
        "LOCATION": "127.0.0.1:11211",
    }
}


def _connected(signal, receiver) -> bool:
    live = [
        ref() if isinstance(ref, weakref.ReferenceType) else ref
        for _key, ref, _is_async in signal.receivers
    ]
    return receiver in live


@pytest.mark.parametrize("caches", [LOCMEM, REDIS], ids=["locmem", "redis"])
def test_the_four_idle_receivers_of_this_service(caches):
    with override_settings(DEBUG=False, CACHES=caches):
        assert idle_receivers() == [
            (signals.request_started, reset_queries),
            (signals.request_started, close_old_connections),
            (signals.request_finished, close_caches),
            (signals.request_finished, reset_urlconf),
        ]


def test_reset_queries_and_the_start_check_of_connections_are_kept_with_debug_on():
    with override_settings(DEBUG=True, CACHES=LOCMEM):
        assert (signals.request_started, reset_queries) not in idle_receivers()
        assert (signals.request_started, close_old_connections) not in idle_receivers()


def test_close_caches_is_kept_for_a_backend_with_its_own_close():
    with override_settings(CACHES={**LOCMEM, "shared": MEMCACHED["default"]}):
        assert (signals.request_finished, close_caches) not in idle_receivers()


def test_dropped_but_connections_are_still_closed_when_old():
    drop_idle_receivers()

    for signal, receiver in idle_receivers():
        assert not _connected(signal, receiver)
    assert _connected(signals.request_finished, close_old_connections)


def test_without_debug_request_started_has_no_receiver_to_dispatch_to():
    # Anything connected to it brings back the dispatch on every request (2.8% of a GET).
    with override_settings(DEBUG=False):
        drop_idle_receivers()
        assert signals.request_started.receivers == []


def test_without_debug_no_query_is_logged_for_reset_queries_to_clear(client_user):
    # given
    ProductFactory(product_id="SKU-1")
    drop_idle_receivers()
    logged = len(connection.queries_log)

    # when
    for _ in range(3):
        assert client_user.get("/products/SKU-1").status_code == 200
        assert client_user.post("/orders", {"products": []}, format="json").status_code == 400

    # then
    assert len(connection.queries_log) == logged


def test_after_a_request_urls_resolve_as_after_reset_urlconf(client_user):
    # given
    ProductFactory(product_id="SKU-1")
    drop_idle_receivers()

    # when: a request leaves the thread's URLconf as it set it
    assert client_user.get("/products/SKU-1").status_code == 200
    kept = get_urlconf()
    answers = (reverse("product-detail", args=["SKU-1"]), resolve("/orders").view_name)
    set_urlconf(None)  # what reset_urlconf does

    # then
    assert kept in (None, "orderservice.urls")
    assert (reverse("product-detail", args=["SKU-1"]), resolve("/orders").view_name) == answers


@override_settings(ROOT_URLCONF="tests.api.crash_urls")
def _crash(client_user):
    return client_user.get("/crash/api")


def test_a_request_under_another_urlconf_leaves_nothing_behind(client_user):
    # given: a request served under another ROOT_URLCONF (set and unset as a setting)
    drop_idle_receivers()
    client_user.raise_request_exception = False
    assert _crash(client_user).status_code == 500

    # then: back to the service's URLs
    assert resolve("/orders").view_name == "order-list"


def _serve(path: str) -> int:
    """One request straight to the WSGI application, as a server makes it (no test client, which
    holds close_old_connections off around its requests); the response closed after."""
    import io

    from orderservice.wsgi import application

    statuses: list[str] = []

    def start_response(status: str, headers: object, *exc_info: object) -> object:
        statuses.append(status)
        return None

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(),
        "wsgi.url_scheme": "http",
    }
    response = application(environ, start_response)  # type: ignore[arg-type]
    try:
        b"".join(response)
    finally:
        response.close()  # type: ignore[attr-defined]  # Django's response has one
    return int(statuses[0].split()[0])


@pytest.mark.postgres  # SQLite's in-memory test database is never closed
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("state", ["past CONN_MAX_AGE", "errors, unusable"])
def test_a_connection_to_drop_is_closed_when_the_response_is(state):
    """What the start check of the next request would close is closed by the end of this one."""
    # given: the thread's connection, to be dropped
    drop_idle_receivers()
    connection.ensure_connection()
    if state == "past CONN_MAX_AGE":
        connection.close_at = time.monotonic() - 1
    else:
        connection.errors_occurred = True
        connection.connection.close()  # is_usable() fails

    # when
    assert _serve("/healthz") == 200

    # then
    assert connection.connection is None
