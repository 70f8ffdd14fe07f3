"""Rate limits per user and per client IP, counted in the Django cache (Redis when REDIS_URL).

Rates are `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]` (settings, from the environment):
`"<n>/<s|m|h|d>"`, or empty / `"off"` for no limit. Counting is a fixed window per period: one
`incr` on the cache per request and scope, whatever the rate (DRF's SimpleRateThrottle keeps a
list of every request time in the window, which costs O(rate) per request at high rates).

The per-IP limit is checked when DRF authenticates, before the credentials are looked at, so a
flood of requests with missing or guessed keys is throttled too (DRF checks throttles only after
authentication and permissions, which would answer those with 401 forever). The per-user limit
is an ordinary DRF throttle class. The admin login, outside DRF, is limited per client address by
a middleware. "Client address" is `proxy.client_address`: X-Forwarded-For counts only from a
trusted proxy (DRF's own `get_ident` and NUM_PROXIES would believe any client's header).

If the cache cannot be reached the request is let through (and a warning logged): a Redis outage
must not take the API down with it. When the cache is the process's own memory (no REDIS_URL),
the counters are a plain dict instead: the same counts, without the cache's pickling and locking
(about 2 µs a request instead of 30).
"""

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from orderservice.api import errors
from orderservice.api.proxy import client_address
from orderservice.common import metrics

if TYPE_CHECKING:  # rest_framework.views imports the throttle classes named in the settings
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@functools.lru_cache(maxsize=32)
def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """`"100/min"` -> (100, 60); None for no limit. Raises ValueError for a malformed rate."""
    if rate is None or rate.strip().lower() in {"", "off", "none"}:
        return None
    count, _, period = rate.strip().partition("/")
    seconds = _PERIODS.get(period.strip()[:1].lower())
    if not count.strip().isdigit() or seconds is None:
        raise ValueError(f"throttle rate {rate!r}: expected <number>/<s|m|h|d>")
    return int(count), seconds


class FixedWindowThrottle(BaseThrottle):
    """At most `n` requests per `period` for each identity, in windows aligned on the clock."""

    scope = ""
    timer = staticmethod(time.time)

    def __init__(self) -> None:
        self._wait: float | None = None

    def identity(self, request: Request | HttpRequest) -> str | None:
        """Whom the limit applies to; None exempts the request."""
        raise NotImplementedError

    def allow_request(self, request: Request | HttpRequest, view: "APIView | None") -> bool:
        limit = parse_rate(api_settings.DEFAULT_THROTTLE_RATES.get(self.scope))
        if limit is None:
            return True
        identity = self.identity(request)
        if identity is None:
            return True
        count_allowed, period = limit
        now = self.timer()
        window = int(now // period)
        key = f"throttle:{self.scope}:{identity}"
        try:
            count = _incr(key, window, period)
        except Exception:  # the cache is down: let the request through, say so in the log
            logger.warning("throttle cache unavailable; %s limit not applied", self.scope)
            return True
        if count <= count_allowed:
            return True
        self._wait = (window + 1) * period - now
        metrics.ORDERS_THROTTLED.labels(scope=self.scope).inc()
        return False

    def wait(self) -> float | None:
        return self._wait


_local_counts: dict[str, tuple[int, int]] = {}  # identity key -> (window, count)
_local_lock = threading.Lock()
_LOCAL_MAX_KEYS = 100_000


def local_counts_clear() -> None:
    """Forget this process's in-memory counts (tests)."""
    with _local_lock:
        _local_counts.clear()


def _incr_local(key: str, window: int) -> int:
    with _local_lock:
        seen_window, count = _local_counts.get(key, (window, 0))
        count = count + 1 if seen_window == window else 1
        if len(_local_counts) >= _LOCAL_MAX_KEYS:
            _local_counts.clear()  # forgets counts early rather than growing without bound
        _local_counts[key] = (window, count)
        return count


@functools.cache
def _counts_in_process(alias: str) -> bool:
    """Whether the cache `alias` is the process's own memory (then the counts are a dict).

    Decided once from the settings, not on each request from `caches[alias]`: that lookup goes
    through a thread- and context-local registry (about 18k instructions, twice a request).
    Forgotten when CACHES changes (tests), as Django then forgets its cache objects.
    """
    backend = str(settings.CACHES[alias]["BACKEND"])
    return issubclass(import_string(backend), LocMemCache)


@receiver(setting_changed)
def _cache_settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("CACHES", "THROTTLE_CACHE_ALIAS"):
        _counts_in_process.cache_clear()


def _incr(key: str, window: int, period: int) -> int:
    if _counts_in_process(settings.THROTTLE_CACHE_ALIAS):
        return _incr_local(key, window)
    cache = caches[settings.THROTTLE_CACHE_ALIAS]
    key = f"{key}:{window}"
    try:
        return int(cache.incr(key))
    except ValueError:  # first request of the window
        if cache.add(key, 1, timeout=period + 1):
            return 1
        return int(cache.incr(key))  # another process added it meanwhile


class UserRateThrottle(FixedWindowThrottle):
    """Per authenticated user (DEFAULT_THROTTLE_RATES["user"])."""

    scope = "user"

    def identity(self, request: Request | HttpRequest) -> str | None:
        user = request.user
        if user is None or not user.is_authenticated:
            return None
        return str(user.pk)


class IpRateThrottle(FixedWindowThrottle):
    """Per client address (DEFAULT_THROTTLE_RATES["ip"])."""

    scope = "ip"

    def identity(self, request: Request | HttpRequest) -> str | None:
        return client_address(request) or None


# The attribute of the Django request holding its per-IP verdict: (allowed, seconds to wait).
_IP_VERDICT = "ip_limit_verdict"


class IpThrottleAuthentication(BaseAuthentication):
    """First in DEFAULT_AUTHENTICATION_CLASSES: applies the per-IP limit, authenticates no one.

    Raising Throttled here answers 429 before any credential is checked. Its
    `authenticate_header` keeps DRF answering 401 (not 403) to requests without credentials.
    """

    keyword = "Token"

    def authenticate(self, request: Request | HttpRequest) -> tuple[Any, Any] | None:
        # Once per request: the fast path (api/fastpath.py) counts a request first and may
        # then hand it to DRF, which asks again; the verdict is kept on the Django request.
        http_request = getattr(request, "_request", request)
        verdict = http_request.__dict__.get(_IP_VERDICT)
        if verdict is None:
            throttle = IpRateThrottle()
            verdict = (throttle.allow_request(request, None), throttle.wait())
            setattr(http_request, _IP_VERDICT, verdict)
        allowed, wait = verdict
        if not allowed:
            raise exceptions.Throttled(wait=wait)
        return None

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class AdminLoginThrottle(IpRateThrottle):
    """Per client address, the admin login's POSTs (DEFAULT_THROTTLE_RATES["admin_login"])."""

    scope = "admin_login"


class AdminLoginThrottleMiddleware:
    """429 with Retry-After for a client past its admin login allowance, before any password is
    hashed (~0.7 s of CPU each with Django's default hasher: unlimited, a cheap way to load us).

    In `process_view`, where the URL is resolved: it matches the admin's own `admin:login` view
    wherever the admin is mounted. Place it before CsrfViewMiddleware: refused attempts cost
    nothing more.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: object, args: object, kwargs: object
    ) -> HttpResponse | None:
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name != "admin:login":
            return None
        throttle = AdminLoginThrottle()
        if throttle.allow_request(request, None):
            return None
        return errors.exception_response(exceptions.Throttled(wait=throttle.wait()), request)
