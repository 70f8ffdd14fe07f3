"""gunicorn.conf.py: settings from the environment, and the Prometheus multiprocess folder."""

import os
import runpy
from pathlib import Path
from typing import Any

import pytest

from tests.live import REPO_ROOT

CONF = REPO_ROOT / "gunicorn.conf.py"


def load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> dict[str, Any]:
    for name in ("BIND", "HOST", "PORT", "WEB_CONCURRENCY", "GUNICORN_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    # Set here so that loading the file never leaves the test process in multiprocess mode.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_defaults_fit_the_machine(monkeypatch, tmp_path):
    conf = load(monkeypatch, tmp_path)

    assert conf["bind"] == "127.0.0.1:8000"
    assert conf["workers"] == 2 * (os.cpu_count() or 1) + 1
    assert conf["timeout"] == 30
    assert conf["graceful_timeout"] == 30
    assert conf["wsgi_app"] == "orderservice.wsgi:application"
    assert conf["accesslog"] is None  # the app logs one JSON line per request itself


def test_environment_overrides(monkeypatch, tmp_path):
    conf = load(
        monkeypatch,
        tmp_path,
        HOST="0.0.0.0",
        PORT="9000",
        WEB_CONCURRENCY="3",
        GUNICORN_TIMEOUT="5",
    )

    assert conf["bind"] == "0.0.0.0:9000"
    assert (conf["workers"], conf["timeout"]) == (3, 5)
    assert (
        load(monkeypatch, tmp_path, BIND="unix:/run/orders.sock")["bind"] == "unix:/run/orders.sock"
    )


def test_metrics_folder_is_emptied_at_start(monkeypatch, tmp_path):
    conf = load(monkeypatch, tmp_path)
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"stale")

    conf["on_starting"](None)

    assert folder.is_dir()
    assert list(folder.iterdir()) == []
    assert conf["_created_metrics_dir"] is False  # named by the environment: not removed at exit


def test_gunicorn_believes_forwarded_headers_from_the_apps_trusted_proxies_only(
    monkeypatch, tmp_path
):
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "127.0.0.1")  # gunicorn's own variable: not read

    assert load(monkeypatch, tmp_path)["forwarded_allow_ips"] == ""
    assert (
        load(monkeypatch, tmp_path, TRUSTED_PROXIES="10.0.0.0/8,127.0.0.1")["forwarded_allow_ips"]
        == "10.0.0.0/8,127.0.0.1"
    )


def test_request_line_and_header_limits_let_nginx_refuse_first(monkeypatch, tmp_path):
    # nginx's large_client_header_buffers are 8k: anything longer it answers itself, in JSON.
    conf = load(monkeypatch, tmp_path)

    assert conf["limit_request_line"] == 8190  # gunicorn's maximum; its default is 4094
    assert conf["limit_request_field_size"] == 8190
