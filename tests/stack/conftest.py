"""The production stack (deploy/stack.py) on free ports and a temporary state folder, on the test
database, so the tests never meet a running `make stack`."""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management.base import CommandError
from django.test import TransactionTestCase

from deploy import stack as stack_script
from tests.live import REPO_ROOT, current_database_url

STACK = [sys.executable, str(REPO_ROOT / "deploy" / "stack.py")]


@dataclass(frozen=True)
class Stack:
    state_dir: Path
    url: str  # nginx
    app_ports: list[int]
    pgbouncer_port: int
    env: dict[str, str]  # the environment `up` ran with

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """deploy/stack.py --state-dir <this stack> ARGS."""
        return subprocess.run(
            [*STACK, "--state-dir", str(self.state_dir), *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def supervisorctl(self, *args: str) -> str:
        result = subprocess.run(
            ["supervisorctl", "-c", str(self.state_dir / "supervisord.conf"), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return result.stdout + result.stderr

    def token(self, username: str, *, staff: bool = False) -> str:
        """`manage.py issue_token` against the stack's DATABASE_URL (through PgBouncer)."""
        result = self.run("manage", "issue_token", username, *(["--staff"] if staff else []))
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def supervisord_pid(self) -> int | None:
        return stack_script.supervisord_pid(self.state_dir)

    def log_tails(self) -> str:
        return stack_script._log_tails(stack_script.load_config(self.state_dir))


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 right now (held together while choosing, so all differ)."""
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            probe = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    return ports


def require_stack_tools() -> None:
    """Skip loudly when nginx, pgbouncer or supervisor is missing; fail when CI requires them."""
    missing = [
        tool
        for tool in stack_script.TOOLS
        if shutil.which(tool, path=stack_script.TOOL_PATH) is None
    ]
    if not missing:
        return
    message = (
        f"\n{'!' * 72}\n!!! Not installed: {', '.join(missing)}: SKIPPED the stack tests.\n"
        f"!!! `make install-stack` installs them (apt-get).\n{'!' * 72}"
    )
    print(message, file=sys.stderr)
    if os.environ.get("REQUIRE_POSTGRES"):
        pytest.fail(message + "\nREQUIRE_POSTGRES is set: the stack tests must run.")
    pytest.skip(message)


@contextlib.contextmanager
def running_stack(
    *, apps: int, workers: int, overrides: Mapping[str, str] | None = None
) -> Iterator[Stack]:
    """`deploy/stack.py up` on the test database; `down` and the state folder removed after."""
    require_stack_tools()
    state_dir = Path(tempfile.mkdtemp(prefix="orderservice-stack-"))
    nginx_port, app_port, pgbouncer_port, redis_port = free_ports(4)
    # The app servers' ports follow the first one: check that all of them are free too.
    while not all(stack_script.port_free(app_port + i) for i in range(apps)):
        app_port += 100
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_", "STACK_"))
    }
    env.update(
        {
            "DATABASE_URL": current_database_url(),
            "STACK_PORT": str(nginx_port),
            "STACK_APPS": str(apps),
            "STACK_APP_PORT": str(app_port),
            "STACK_WORKERS": str(workers),
            "STACK_PGBOUNCER_PORT": str(pgbouncer_port),
            "STACK_REDIS_PORT": str(redis_port),
            "STACK_POOL_SIZE": "4",
            # Throttle counters of its own in a shared Redis.
            "CACHE_KEY_PREFIX": f"orderservice-stack-test-{os.getpid()}",
            "LOG_LEVEL": "WARNING",
            # The tests' webhook receivers listen on plain HTTP on loopback.
            "WEBHOOK_ALLOW_HTTP": "1",
            "WEBHOOK_ALLOW_PRIVATE": "1",
        }
    )
    env.update(overrides or {})
    stack = Stack(
        state_dir=state_dir,
        url=f"http://127.0.0.1:{nginx_port}",
        app_ports=[app_port + i for i in range(apps)],
        pgbouncer_port=pgbouncer_port,
        env=env,
    )
    try:
        started = stack.run("up", "--no-collectstatic")
        assert started.returncode == 0, f"stack up failed:\n{started.stdout}\n{started.stderr}"
        with flush_retried_on_deadlock():
            yield stack
    finally:
        stack.run("down")
        shutil.rmtree(state_dir, ignore_errors=True)


@contextlib.contextmanager
def flush_retried_on_deadlock(attempts: int = 3) -> Iterator[None]:
    """While a stack runs, a test's closing flush (one TRUNCATE of every table) can deadlock
    with the stack's webhook worker, which reads the events tables in transactions of its own;
    PostgreSQL then aborts the flush. It is tried again, instead of failing the test and
    leaving its rows to the next one. Patched for the stack's lifetime (a module), which spans
    every test's database teardown in it."""
    original = TransactionTestCase._fixture_teardown  # type: ignore[attr-defined]  # (not in the stubs)

    def teardown(self: TransactionTestCase) -> Any:
        for attempt in range(1, attempts + 1):
            try:
                return original(self)
            except CommandError as exc:
                if attempt == attempts or not _caused_by_deadlock(exc):
                    raise
                time.sleep(0.2 * attempt)
        return None

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", teardown)
        yield


def _caused_by_deadlock(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, psycopg.errors.DeadlockDetected):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@pytest.fixture(scope="module")
def stack(django_db_setup: None) -> Iterator[Stack]:
    """One stack per module: nginx, 2 app servers of 1 sync worker each, PgBouncer, the test
    database; Redis is the one already answering (REDIS_URL or the local one), else its own."""
    with running_stack(apps=2, workers=1) as running:
        yield running


def read_json(raw: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    """(status, headers in lower case, JSON body) of one raw HTTP/1.1 answer."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, json.loads(body)
