"""Django's request_started and request_finished without the receivers that do nothing here.

Django sends both signals on every request, and each receiver costs its call and its share of
the dispatch; a signal left with no receiver costs nothing (`Signal.send` returns at once). Four
of Django's receivers have nothing to do in this service, and are disconnected once at start-up
(`ApiConfig.ready`); together they cost about 100k instructions a request, 3.7% of a GET of one
product, 3.3% of a placed order (`make bench-layers` on PostgreSQL), and request_started, left
empty, 46k-56k more (2.8%, 2.3%; this service connects nothing to it either):

- `reset_queries` (request_started) empties the log of each connection's queries, which Django
  only fills with DEBUG on (or inside CaptureQueriesContext, which holds the receiver off
  itself). Kept when DEBUG is on at start-up.
- `close_caches` (request_finished) calls `close()` of each cache in use: BaseCache's, which does
  nothing, for the local-memory and Redis backends the settings choose between. Kept if any
  configured backend has a `close()` of its own (memcached's closes its sockets).
- `reset_urlconf` (request_finished) sets the thread's URLconf back to None, for the next
  request or code outside one. Every request sets it first thing (to ROOT_URLCONF: nothing here
  sets `request.urlconf`), and None means ROOT_URLCONF, so it has nothing to undo.

- `close_old_connections` on request_started: it ends connections past CONN_MAX_AGE, in a
  failed transaction or in error, and re-arms CONN_HEALTH_CHECKS' probe. Its request_finished
  twin, which stays, did all of that on this thread when its previous request's response was
  closed, and nothing uses the thread's connections between two requests (a thread serves one
  request at a time, and Django's connections are per thread). The one difference: a
  connection that passes CONN_MAX_AGE (600 s) while idle is closed at the end of its next
  request instead of at its start; a connection the server dropped meanwhile was not detected
  by the start either (that check runs no query), the first statement's retry handles it
  (common/db/statements.py). Kept when DEBUG is on, with reset_queries.

tests/api/test_request_signals.py checks each of the above.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.cache import close_caches
from django.core.cache.backends.base import BaseCache
from django.core.handlers.base import reset_urlconf  # importing it connects it: then it can go
from django.db import close_old_connections, reset_queries
from django.dispatch import Signal
from django.utils.module_loading import import_string


def idle_receivers() -> list[tuple[Signal, Callable[..., Any]]]:
    """(signal, receiver) of each of Django's request receivers with nothing to do here."""
    idle: list[tuple[Signal, Callable[..., Any]]] = []
    if not settings.DEBUG:
        idle.append((signals.request_started, reset_queries))
        idle.append((signals.request_started, close_old_connections))
    backends = [import_string(str(cache["BACKEND"])) for cache in settings.CACHES.values()]
    if all(backend.close is BaseCache.close for backend in backends):
        idle.append((signals.request_finished, close_caches))
    idle.append((signals.request_finished, reset_urlconf))
    return idle


def drop_idle_receivers() -> None:
    for signal, receiver in idle_receivers():
        signal.disconnect(receiver)
