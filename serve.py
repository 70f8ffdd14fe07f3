"""The production app server: `python serve.py` (what `make serve` runs) starts uWSGI on the app.

uWSGI (the pyuwsgi wheel, pinned in pyproject.toml): a master process and pre-forked worker
processes sharing one listening socket, the HTTP parsed in C. It replaced gunicorn's sync
workers as the default because a request's server-side cost was most of the app's CPU there
(`make bench`, README "Performance"); the worker model stays the same (one request per process
at a time, a dead worker replaced by the master, queued connections left in the shared socket
for the others).

Every value comes from the environment, with defaults that fit a small machine:

    BIND (127.0.0.1:8000; or HOST and PORT), WEB_CONCURRENCY (2 x cores + 1),
    SERVER_THREADS (1), REQUEST_TIMEOUT (30), GRACEFUL_TIMEOUT (30), MAX_REQUESTS (0: never
    recycle), LISTEN_BACKLOG (1024, capped at the kernel's somaxconn).

Arguments after `serve.py` are passed to uWSGI after these (a later scalar option wins; a
second `--http-socket` would add a socket: set BIND instead).

Chunked request bodies: uWSGI 2.0's --http-socket does not de-chunk them and no option makes it
(--http-chunked-input is the separate HTTP router's, --http, and passes the chunks on raw); the
app answers such a request 411 (orderservice/api/chunked.py, docs/production.md). nginx in
front de-chunks them.

Prometheus: each worker is its own process, so prometheus_client runs in multiprocess mode.
PROMETHEUS_MULTIPROC_DIR is set here (a fresh temporary folder unless the environment names
one) and emptied before the workers start; GET /metrics on any worker reports the sum over all
of them. The app has no `live*` gauges, so a dead worker's files need no clean-up (gunicorn's
`child_exit` hook did only that).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

WSGI_APP = "orderservice.wsgi:application"
SOMAXCONN = Path("/proc/sys/net/core/somaxconn")


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    return int(value) if value else default


def _backlog(environ: Mapping[str, str]) -> int:
    # uWSGI refuses to start with a backlog above the kernel's limit.
    wanted = _int(environ, "LISTEN_BACKLOG", 1024)
    try:
        return min(wanted, int(SOMAXCONN.read_text()))
    except (OSError, ValueError):
        return min(wanted, 128)


def bind_address(environ: Mapping[str, str]) -> str:
    return environ.get("BIND") or (
        f"{environ.get('HOST', '127.0.0.1')}:{environ.get('PORT', '8000')}"
    )


def request_timeout(environ: Mapping[str, str]) -> int:
    """Seconds before a worker stuck on one request is killed (nginx waits a little longer)."""
    return _int(environ, "REQUEST_TIMEOUT", 30)


def graceful_timeout(environ: Mapping[str, str]) -> int:
    """Seconds a stopping server gives the requests in flight."""
    return _int(environ, "GRACEFUL_TIMEOUT", 30)


def uwsgi_args(environ: Mapping[str, str]) -> list[str]:
    """uWSGI's command-line options for the service, from `environ`."""
    workers = _int(environ, "WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1)
    threads = _int(environ, "SERVER_THREADS", 1)
    graceful = graceful_timeout(environ)
    max_requests = _int(environ, "MAX_REQUESTS", 0)
    args = [
        "--strict",  # an unknown option is an error, not ignored
        "--master",
        "--http-socket", bind_address(environ),
        "--module", WSGI_APP,
        "--need-app",  # an app that fails to import ends the server, not a worker loop
        # Each worker imports the app after the fork, as gunicorn's workers did: no database
        # connection or thread is made in the master and shared with the workers.
        "--lazy-apps",
        "--processes", str(workers),
        "--threads", str(threads),
        "--enable-threads",  # the app's daemon threads: DB watchdog, probe, alerts, webhooks
        "--single-interpreter",
        "--thunder-lock",  # one worker at a time in accept(): no thundering herd
        "--listen", str(_backlog(environ)),
        # The request line and headers must fit this buffer, or uWSGI drops the connection
        # unanswered (nginx would count that as a failed server): its maximum, above the
        # 4 x 8 KiB nginx in front lets through.
        "--buffer-size", "65535",
        # A worker stuck on one request this long is killed and replaced; well above the
        # database retry budget (the app bounds its own waits).
        "--harakiri", str(request_timeout(environ)),
        # SIGTERM: stop accepting, let requests in flight finish for up to GRACEFUL_TIMEOUT,
        # then exit (uWSGI 2.0's own SIGTERM is a restart, its SIGINT an immediate stop).
        "--hook-master-start", "unix_signal:15 gracefully_kill_them_all",
        "--worker-reload-mercy", str(graceful),
        "--reload-mercy", str(graceful),
        "--no-orphans",  # workers end if the master is killed
        # The worker closes the connection after each answer; saying so lets the client
        # (nginx, a load generator) open the next one without a failed read first.
        "--add-header", "Connection: close",
        # The app logs one JSON line per request (orderservice.request): no access log here.
        "--disable-logging",
        "--ignore-sigpipe", "--ignore-write-errors", "--disable-write-exception",
    ]  # fmt: skip
    if max_requests:
        args += ["--max-requests", str(max_requests), "--max-requests-delta", "1"]
    return args


def prepare_metrics_dir(environ: dict[str, str]) -> Path:
    """Name (in `environ`) and empty the folder of the workers' Prometheus files."""
    if not environ.get("PROMETHEUS_MULTIPROC_DIR"):
        environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="orderservice-metrics-")
    folder = Path(environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # an earlier run's values would be added to this one's
        stale.unlink()
    return folder


def main(argv: list[str]) -> None:
    environ = dict(os.environ)
    prepare_metrics_dir(environ)
    uwsgi = str(Path(sys.executable).parent / "uwsgi")
    os.chdir(Path(__file__).resolve().parent)
    os.execve(uwsgi, [uwsgi, *uwsgi_args(environ), *argv[1:]], environ)


if __name__ == "__main__":
    main(sys.argv)
