"""Gunicorn settings for production: `make serve`, or `gunicorn orderservice.wsgi` from this folder.

Gunicorn reads ./gunicorn.conf.py by default; command-line flags override what is set here.
Every value comes from the environment, with defaults that fit a small machine:

    BIND (127.0.0.1:8000; or HOST and PORT), WEB_CONCURRENCY (2 x cores + 1),
    GUNICORN_THREADS (1), GUNICORN_TIMEOUT (30), GUNICORN_GRACEFUL_TIMEOUT (30),
    GUNICORN_KEEPALIVE (5), GUNICORN_MAX_REQUESTS (0: never recycle), LOG_LEVEL (info),
    TRUSTED_PROXIES (none: whose X-Forwarded-Proto counts, shared with the app's settings).

Prometheus: each worker is its own process, so prometheus_client runs in multiprocess mode. This
file sets PROMETHEUS_MULTIPROC_DIR (a fresh temporary folder unless the environment names one)
before any worker imports the app; the folder is emptied at start, a dead worker's live gauges
are dropped, and GET /metrics on any worker reports the sum over all of them.
"""

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("BIND") or (
    f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
)
wsgi_app = "orderservice.wsgi:application"
# Sync workers: each order holds a database connection for its whole transaction anyway, and
# the work is CPU-bound Python; more processes, not threads, use the cores.
workers = _env_int("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1)
threads = _env_int("GUNICORN_THREADS", 1)
# A worker silent for this long is killed and replaced; well above the database retry budget.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# SIGTERM: stop accepting, let requests in flight finish for up to this long, then exit.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10
# The heartbeat file in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# The app logs one JSON line per request (orderservice.request); no second access log.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "orderservice.common.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False}
    },
}
# The proxies whose X-Forwarded-Proto (and SCRIPT_NAME/PATH_INFO headers) gunicorn believes: the
# app's own TRUSTED_PROXIES (orderservice/api/proxy.py), so that the two never disagree. Empty by
# default: without a proxy no client can claim HTTPS.
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES", "")
# gunicorn answers a request it cannot parse itself (400, 414 URI too long, 431 header fields too
# large) with a fixed HTML page: no setting or hook changes it (gunicorn.util.write_error). The
# supported production shape has nginx in front (SPEC §13), which refuses these first and
# answers JSON: its request line and header lines must fit 8k buffers, so gunicorn's limits are
# raised to its maximum, 8190 (the request line's default is 4094), and a request nginx passes
# reaches the app, which answers JSON. More than 100 header fields is still gunicorn's HTML 431
# (nginx has no count limit); real clients send a dozen or two.
limit_request_line = 8190
limit_request_field_size = 8190
limit_request_fields = 100
# gunicorn 27's control socket sits at one path per user: two servers on a host (tests, a
# benchmark beside a dev server) would take it from each other. Off; `gunicornc` is not used.
control_socket_disable = True

# --- Prometheus multiprocess mode -----------------------------------------------------------

# Before anything imports prometheus_client: it picks its storage when first imported, and the
# workers inherit the master's modules.
_created_metrics_dir = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _created_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="orderservice-metrics-")
METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def on_starting(server: Any) -> None:
    # Values left by an earlier run would be added to this one's.
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in METRICS_DIR.glob("*.db"):
        stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _created_metrics_dir:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
