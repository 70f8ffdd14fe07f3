"""Parallel HTTP clients for the concurrency tests: one requests.Session per thread."""

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar

import requests

T = TypeVar("T")

# (connect, read): a request never waits longer than this, so no client loop can hang.
REQUEST_TIMEOUT = (5.0, 30.0)

_local = threading.local()


def thread_session() -> requests.Session:
    """This thread's own session (connection pool); sessions are not shared between threads."""
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        _local.session = session
    return session


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # parsed JSON, or the raw text when the body was not JSON
    headers: Mapping[str, str]  # case-insensitive, as HTTP field names are

    @property
    def is_json(self) -> bool:
        return not isinstance(self.body, _NotJson)

    @property
    def error(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None


class _NotJson(str):
    pass


def call(
    method: str,
    url: str,
    *,
    token: str,
    json: Any = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One request through this thread's session, authenticated with `token`."""
    response = thread_session().request(
        method,
        url,
        json=json,
        headers={"Authorization": f"Token {token}", **(headers or {})},
        timeout=REQUEST_TIMEOUT,
    )
    try:
        body: Any = response.json()
    except ValueError:
        body = _NotJson(response.text)
    # A copy, still case-insensitive: granian sends field names in lower case, uWSGI as the
    # app wrote them.
    return Reply(
        response.status_code, body, requests.structures.CaseInsensitiveDict(response.headers)
    )


def fan_out(jobs: Sequence[Callable[[], T]], *, threads: int, timeout: float = 60.0) -> list[T]:
    """Run the jobs on `threads` threads at once; their results in job order.

    All threads are released together by a barrier so the first requests really overlap. A job
    that raises fails the whole call; jobs still queued after `timeout` are cancelled.
    """
    threads = min(threads, len(jobs))
    barrier = threading.Barrier(threads)

    def start() -> None:
        barrier.wait(timeout=timeout)

    with ThreadPoolExecutor(max_workers=threads, initializer=start) as pool:
        futures = [pool.submit(job) for job in jobs]
        done, pending = wait(futures, timeout=timeout, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in done:
            error = future.exception()
            if error is not None:
                raise error
        if pending:
            raise TimeoutError(f"{len(pending)} of {len(jobs)} jobs unfinished after {timeout}s")
    return [future.result() for future in futures]
