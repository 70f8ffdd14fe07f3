"""A webhook receiver for the alert tests: records each JSON POST it gets, with its arrival time."""

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    at: float  # time.monotonic() on arrival
    payload: dict[str, Any]


class WebhookReceiver:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                with receiver._lock:
                    receiver._received.append(Received(time.monotonic(), payload))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/alerts"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def received(self, event: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._received if event is None or r.payload.get("event") == event]

    def by_pid(self, event: str) -> dict[int, int]:
        counts: dict[int, int] = {}
        for item in self.received(event):
            pid = int(item.payload["pid"])
            counts[pid] = counts.get(pid, 0) + 1
        return counts


@contextlib.contextmanager
def running_webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver._thread.start()
    try:
        yield receiver
    finally:
        receiver._server.shutdown()
        receiver._server.server_close()
