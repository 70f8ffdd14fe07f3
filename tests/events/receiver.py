"""Webhook receivers for the tests: real HTTP servers on 127.0.0.1 that record what they get.

`Receiver(answer)`: `answer(n)` (n counts the requests from 0) gives the status to answer and
the seconds to wait first. Each request is recorded with its headers, body and times; a request
that arrives while another with the same `webhook-id` is still being answered is an overlap.
"""

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[int], tuple[int, float]]


@dataclass
class Received:
    webhook_id: str
    headers: dict[str, str]
    body: bytes
    started: float
    ended: float = 0.0
    status: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    answer: Answer = field(default=lambda n: (200, 0.0))
    received: list[Received] = field(default_factory=list)
    overlaps: list[str] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: dict[str, int] = field(default_factory=dict)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        headers = {key.lower(): value for key, value in handler.headers.items()}
        webhook_id = headers.get("webhook-id", "")
        record = Received(webhook_id, headers, body, started=time.monotonic())
        with self._lock:
            n = len(self.received)
            self.received.append(record)
            if self._in_flight.get(webhook_id):
                self.overlaps.append(webhook_id)
            self._in_flight[webhook_id] = self._in_flight.get(webhook_id, 0) + 1
        try:
            status, delay = self.answer(n)
            time.sleep(delay)
            record.status = status
            with contextlib.suppress(OSError):  # the sender gave up (timeout)
                handler.send_response(status)
                if 300 <= status < 400:
                    handler.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                handler.send_header("Content-Length", "0")
                handler.end_headers()
        finally:
            record.ended = time.monotonic()
            with self._lock:
                self._in_flight[webhook_id] -= 1

    def ids(self) -> list[str]:
        with self._lock:
            return [r.webhook_id for r in self.received]

    def delivered_ids(self) -> set[str]:
        """The webhook-ids answered with a 2xx."""
        with self._lock:
            return {r.webhook_id for r in self.received if 200 <= r.status < 300}


@contextlib.contextmanager
def running(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver.handle(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def refused_url() -> str:
    """A URL on a 127.0.0.1 port nothing listens on: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
