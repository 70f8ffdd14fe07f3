"""Where a webhook may be sent: https (unless WEBHOOK_ALLOW_HTTP) and only to public addresses
(unless WEBHOOK_ALLOW_PRIVATE), against server-side request forgery.

The host is resolved and every address it resolves to is judged, so the numeric spellings of an
address (2130706433, 0x7f000001, 0177.0.0.1, 127.1: what the C resolver accepts), IPv4-mapped
and NAT64 IPv6, `[::1]` and names pointing at internal addresses are all caught. It is checked
when an endpoint is saved and again at each delivery, which connects to the very address it
checked (delivery.py): a name that resolves elsewhere by then (DNS rebinding) gains nothing.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

import httpx
from django.conf import settings

from orderservice.events.exceptions import WebhookUrlRefused

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services; link-local and private already, named for clarity.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to `address`, but speak to `host` (Host header, TLS name)."""

    url: str
    host: str
    port: int
    address: IpAddress


def url_check(url: str) -> Target:
    """The URL's target, checked; raises WebhookUrlRefused saying what is wrong."""
    parts = _parts(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port)
    if not settings.WEBHOOK_ALLOW_PRIVATE:
        refused = [address for address in addresses if address_is_internal(address)]
        if refused:
            raise WebhookUrlRefused(
                "Must not point to a loopback, private, link-local or otherwise internal "
                f"address ({host} is {refused[0]})."
            )
    return Target(url=url, host=host, port=port, address=addresses[0])


def address_is_internal(address: IpAddress) -> bool:
    """Not a public unicast address: loopback, private, link-local, multicast, reserved,
    unspecified, shared, documentation, metadata, or an IPv6 form embedding one of those."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_is_internal(embedded)
    return (
        address in METADATA_ADDRESSES
        or not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _parts(url: str) -> SplitResult:
    schemes = ("http", "https") if settings.WEBHOOK_ALLOW_HTTP else ("https",)
    if len(url) > MAX_URL_LENGTH or not url.isascii() or any(c.isspace() for c in url):
        raise WebhookUrlRefused(
            f"Must be an absolute URL of at most {MAX_URL_LENGTH} ASCII characters, no spaces "
            "(international names in punycode)."
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
        # The sender (httpx) must read the same host as this check did.
        same_host = httpx.URL(url).host == (parts.hostname or "")
    except (ValueError, httpx.InvalidURL) as exc:
        raise WebhookUrlRefused("Must be a valid URL.") from exc
    if not same_host:
        raise WebhookUrlRefused("Must be a valid URL.")
    if parts.scheme not in schemes or not parts.hostname:
        raise WebhookUrlRefused(f"Must be an {' or '.join(s + '://' for s in schemes)} URL.")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlRefused("Must not carry credentials.")
    if "%" in parts.hostname:
        raise WebhookUrlRefused("Must not name an IPv6 zone.")
    return parts


def _resolve(host: str, port: int) -> list[IpAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookUrlRefused(f"The host {host} does not resolve.") from exc
    addresses: list[IpAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise WebhookUrlRefused(f"The host {host} does not resolve.")
    return addresses
