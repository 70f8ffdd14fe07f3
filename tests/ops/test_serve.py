"""serve.py: uWSGI's options from the environment, and the Prometheus multiprocess folder.

The live tests (tests/live.py) run the service through serve.py itself; these check the mapping.
"""

import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.live import REPO_ROOT

SERVE = REPO_ROOT / "serve.py"
SETTINGS = (
    "BIND", "HOST", "PORT", "WEB_CONCURRENCY", "SERVER_THREADS", "REQUEST_TIMEOUT",
    "GRACEFUL_TIMEOUT", "MAX_REQUESTS", "LISTEN_BACKLOG", "PROMETHEUS_MULTIPROC_DIR",
)  # fmt: skip


@pytest.fixture
def serve() -> dict[str, Any]:
    return runpy.run_path(str(SERVE))  # not __main__: nothing is started


def option(args: list[str], name: str) -> str:
    """The value of the last `name` in `args` (uWSGI takes the last of a scalar option)."""
    values = [args[i + 1] for i, arg in enumerate(args) if arg == name]
    assert values, f"{name} missing from {args}"
    return values[-1]


def test_defaults_fit_the_machine(serve):
    args = serve["uwsgi_args"]({})

    assert option(args, "--http-socket") == "127.0.0.1:8000"
    assert option(args, "--module") == "orderservice.wsgi:application"
    assert option(args, "--processes") == str(2 * (os.cpu_count() or 1) + 1)
    assert option(args, "--threads") == "1"
    assert option(args, "--harakiri") == "30"
    assert option(args, "--worker-reload-mercy") == "30"
    assert "--max-requests" not in args  # never recycled unless asked
    # each worker imports the app itself; its daemon threads run; one JSON line per request
    # comes from the app, not a second access log from the server
    assert {"--master", "--lazy-apps", "--enable-threads", "--disable-logging"} <= set(args)


def test_environment_overrides(serve):
    env = {
        "HOST": "0.0.0.0",
        "PORT": "9000",
        "WEB_CONCURRENCY": "3",
        "SERVER_THREADS": "4",
        "REQUEST_TIMEOUT": "5",
        "GRACEFUL_TIMEOUT": "7",
        "MAX_REQUESTS": "1000",
    }
    args = serve["uwsgi_args"](env)

    assert option(args, "--http-socket") == "0.0.0.0:9000"
    assert (option(args, "--processes"), option(args, "--threads")) == ("3", "4")
    assert (option(args, "--harakiri"), option(args, "--worker-reload-mercy")) == ("5", "7")
    assert option(args, "--max-requests") == "1000"
    assert (serve["request_timeout"](env), serve["graceful_timeout"](env)) == (5, 7)
    assert serve["bind_address"]({"BIND": "unix:/run/orders.sock", "PORT": "1"}) == (
        "unix:/run/orders.sock"
    )


def test_sigterm_is_a_graceful_stop(serve):
    # uWSGI 2.0 alone would restart on SIGTERM; a process supervisor means "stop".
    args = serve["uwsgi_args"]({})

    assert option(args, "--hook-master-start") == "unix_signal:15 gracefully_kill_them_all"


def test_backlog_is_capped_at_the_kernels_limit(serve, monkeypatch, tmp_path):
    # uWSGI refuses to start with a listen queue above net.core.somaxconn.
    somaxconn = tmp_path / "somaxconn"
    somaxconn.write_text("512\n")
    monkeypatch.setitem(serve["_backlog"].__globals__, "SOMAXCONN", somaxconn)

    assert option(serve["uwsgi_args"]({}), "--listen") == "512"
    assert option(serve["uwsgi_args"]({"LISTEN_BACKLOG": "64"}), "--listen") == "64"


def test_metrics_folder_is_named_and_emptied(serve, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"stale")
    environ = {"PROMETHEUS_MULTIPROC_DIR": str(folder)}

    assert serve["prepare_metrics_dir"](environ) == folder
    assert list(folder.iterdir()) == []

    fresh: dict[str, str] = {}
    made = serve["prepare_metrics_dir"](fresh)
    assert made.is_dir()
    assert fresh["PROMETHEUS_MULTIPROC_DIR"] == str(made)
    made.rmdir()


def test_uwsgi_accepts_every_option(serve, tmp_path):
    # uWSGI parses the whole command line (an unknown option is an error), prints the one
    # value `--get` asks for and exits without serving.
    uwsgi = Path(sys.executable).parent / "uwsgi"
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    result = subprocess.run(
        [str(uwsgi), *serve["uwsgi_args"]({"BIND": "127.0.0.1:0"}), "--get", "harakiri"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "30"
