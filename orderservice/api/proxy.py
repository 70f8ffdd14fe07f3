"""The proxy in front: whose forwarded headers count (TRUSTED_PROXIES), the client's address, and
the public address of the service (PUBLIC_BASE_URL).

A client can send any `X-Forwarded-*` header it likes. They are believed only from a peer listed
in TRUSTED_PROXIES (empty by default: no one); from anyone else `ForwardedHeadersMiddleware`
drops them before anything reads them (Django's SECURE_PROXY_SSL_HEADER, the rate limits), and
undoes what the server made of them (uWSGI takes X-Forwarded-Proto as the request's scheme).
"""

import functools
import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from rest_framework.request import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# What only a proxy should set. Django reads X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER), and
# X-Forwarded-Host/-Port when told to; the client address comes from X-Forwarded-For.
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
)


def trusted_networks() -> tuple[Network, ...]:
    """TRUSTED_PROXIES parsed; ImproperlyConfigured names an entry that is not an IP or CIDR."""
    return _networks(tuple(settings.TRUSTED_PROXIES))


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    try:
        # Strict: 10.0.0.1/8 is a typo, not 10.0.0.0/8.
        return tuple(ipaddress.ip_network(entry) for entry in entries)
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from exc


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 from a dual-stack socket
    return address


def _is_trusted(text: str, networks: tuple[Network, ...]) -> bool:
    address = _address(text) if networks else None
    return address is not None and any(address in network for network in networks)


def client_address(request: HttpRequest | Request) -> str:
    """Who sent the request: REMOTE_ADDR, unless that is a trusted proxy.

    Then X-Forwarded-For is read from the right (each proxy appends the address it saw): the
    first entry that is not itself a trusted proxy is the client. Entries to its left were
    written by the client and are not believed. An entry that is not an IP address ends the walk
    (no proxy wrote it): the client is then the last trusted hop.
    """
    address = request.META.get("REMOTE_ADDR", "")
    networks = trusted_networks()
    if not _is_trusted(address, networks):
        return address
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        hop = hop.strip()
        if _address(hop) is None:
            break
        address = hop
        if not _is_trusted(hop, networks):
            break
    return address


def public_url(request: HttpRequest | Request, path: str) -> str:
    """An absolute URL for `path` (which starts with /): on PUBLIC_BASE_URL when set, so links
    never echo the client's Host; else on the request's scheme and Host, which raises
    DisallowedHost for a Host outside ALLOWED_HOSTS.
    """
    base = settings.PUBLIC_BASE_URL
    if base:
        return f"{base.rstrip('/')}{path}"
    return request.build_absolute_uri(path)


class ForwardedHeadersMiddleware:
    """Drops X-Forwarded-* unless the peer is a trusted proxy; early, before anything reads them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        trusted_networks()  # a malformed TRUSTED_PROXIES stops the server at start

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _is_trusted(request.META.get("REMOTE_ADDR", ""), trusted_networks()):
            if request.META.pop("HTTP_X_FORWARDED_PROTO", None) is not None:
                # uWSGI sets the WSGI scheme from X-Forwarded-Proto whoever sent it: the
                # scheme is the connection's own again (https only where the server itself
                # took TLS and says so with HTTPS=on).
                request.META["wsgi.url_scheme"] = _transport_scheme(request.META)
            for name in FORWARDED_HEADERS:
                request.META.pop(name, None)
        return self.get_response(request)


def _transport_scheme(environ: dict[str, object]) -> str:
    return "https" if str(environ.get("HTTPS", "")).lower() in ("on", "1") else "http"
