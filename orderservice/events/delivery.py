"""One webhook attempt over HTTP: signed, sent to the very address checked, bounded in time.

The URL is checked again now (urlguard: resolved, every address judged) and the connection goes
to the address that was checked, with the name kept for the Host header and the TLS name (SNI
and certificate check): a name re-pointed at an internal address since it was saved (DNS
rebinding) is refused, not followed. Redirects are not followed (a 3xx is a failed attempt), no
proxy from the environment is used, and the whole attempt (resolving, connecting, sending, the
answer's status line) gets WEBHOOK_TIMEOUT_SECONDS in all: httpx's timeouts are per phase, so
the attempt runs under asyncio.timeout. The answer's body is not read.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
from django.conf import settings

from orderservice.common import clock
from orderservice.events.bodies import event_bytes
from orderservice.events.exceptions import WebhookUrlRefused
from orderservice.events.relay import Claim, Outcome
from orderservice.events.signing import signed_headers
from orderservice.events.urlguard import Target, url_check

USER_AGENT = "orderservice-webhooks/1"
# Resolution runs in threads of its own: asyncio.run would wait for the default executor's, and
# a resolver that hangs must not hold the attempt past its time limit.
_RESOLVER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-resolver")


def attempt(claim: Claim) -> Outcome:
    """Send the claimed delivery once; what happened (never raises for the receiver's faults)."""
    attempted_at = clock.now()
    started = clock.monotonic()
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    status_code: int | None = None
    error: str | None = None
    body = event_bytes(claim.event)
    headers = signed_headers(
        secret=claim.secret, message_id=claim.event.event_id, body=body, at=attempted_at
    )
    try:
        status_code = asyncio.run(_checked_post(claim.url, body, headers, timeout))
    except WebhookUrlRefused as exc:
        error = f"refused: {exc}"
    except TimeoutError:
        error = f"no answer within {timeout:g} s"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    duration_ms = round((clock.monotonic() - started) * 1000)
    return Outcome(
        status_code=status_code, duration_ms=duration_ms, error=error, attempted_at=attempted_at
    )


async def _checked_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    async with asyncio.timeout(timeout):  # the name's resolution counts too
        resolving = asyncio.get_running_loop().run_in_executor(_RESOLVER, url_check, url)
        return await _post(await resolving, body, headers, timeout)


async def _post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> int:
    url = httpx.URL(target.url)
    pinned = url.copy_with(host=str(target.address))
    extensions = {"sni_hostname": target.host} if url.scheme == "https" else {}
    async with (
        httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client,
        client.stream(
            "POST",
            pinned,
            content=body,
            headers={
                **headers,
                "Host": url.netloc.decode("ascii"),
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
            extensions=extensions,
        ) as response,
    ):
        return response.status_code
