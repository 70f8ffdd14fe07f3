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
