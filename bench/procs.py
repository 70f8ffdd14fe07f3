"""Processes for the benchmark: tools, the app server, the production stack, CPU and memory."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

# Debian package that provides each external tool the benchmark runs.
TOOL_PACKAGES = {"wrk": "wrk", "pgbench": "postgresql-client"}


class BenchError(RuntimeError):
    """The benchmark cannot run or its setup failed; the message says what to do."""


def ensure_tool(name: str) -> str:
    """The path of `name`, installing its Debian package with apt-get when it is missing."""
    found = shutil.which(name)
    if found:
        return found
    package = TOOL_PACKAGES[name]
    print(f"bench: {name} is missing; installing the Debian package {package!r} with apt-get")
    if shutil.which("apt-get") is None:
        raise BenchError(f"{name} is not installed and there is no apt-get: install {package}.")
    as_root = [] if os.geteuid() == 0 else ["sudo", "-n"]
    apt = [*as_root, "apt-get", "-o", "DPkg::Lock::Timeout=120"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in ([*apt, "update", "-qq"], [*apt, "install", "-y", "-qq", package]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise BenchError(
                f"could not install {package} ({' '.join(command)} exited {result.returncode}):"
                f"\n{result.stderr.strip()[-2000:]}\nInstall it by hand: apt-get install {package}"
            )
    found = shutil.which(name)
    if not found:
        raise BenchError(f"apt-get installed {package} but {name} is still not on PATH.")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- /proc --------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after the closing parenthesis are fixed.
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


def children(pid: int) -> list[int]:
    """Direct children of a process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        if int(raw[raw.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now), VmHWM (peak resident) and the private part (RssAnon) in KiB."""
    wanted = {"VmRSS", "VmHWM", "RssAnon"}
    values: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in wanted:
                values[key] = int(rest.split()[0])
    except OSError:
        return {}
    return values


# --- the app server (uWSGI, gunicorn or granian) ------------------------------------------------

# What `--server` names: uWSGI as serve.py runs it (the default since serve.py exists), gunicorn's
# sync or gthread worker class, or granian's WSGI interface.
SERVERS = ("uwsgi", "gunicorn-sync", "gunicorn-gthread", "granian")


@dataclass
class Server:
    """An app server's main process started by the benchmark; stop() ends it and its workers."""

    process: subprocess.Popen[bytes]
    port: int
    command: list[str]
    log_path: Path
    workers_expected: int
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def cpu_snapshot(self) -> dict[int, float]:
        snapshot = {}
        for pid in [self.process.pid, *self.workers()]:
            seconds = cpu_seconds(pid)
            if seconds is not None:
                snapshot[pid] = seconds
        return snapshot

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            for pid in self.workers():
                _kill(pid)
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def start_server(
    *,
    server: str,
    app_dir: Path,
    env: dict[str, str],
    workers: int,
    threads: int,
    log_path: Path,
    extra_args: list[str],
) -> Server:
    """`server` (one of SERVERS) serving orderservice.wsgi:application on a free loopback port."""
    port = free_port()
    env = {**env}
    # The Prometheus multiprocess folder, made before the workers start and inherited; gunicorn
    # in a checkout from before serve.py makes its own (its gunicorn.conf.py).
    if not (server.startswith("gunicorn") and (app_dir / "gunicorn.conf.py").exists()):
        env.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="os-bench-metrics-"))
    if server == "granian":
        command = _granian_command(port, workers, threads, extra_args)
    elif server == "uwsgi":
        # The production command (serve.py), its settings from the environment.
        command = [sys.executable, str(app_dir / "serve.py"), *extra_args]
        env.update(
            BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers), SERVER_THREADS=str(threads)
        )
    else:
        command = _gunicorn_command(port, app_dir, workers, server, threads, log_path, extra_args)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, cwd=app_dir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    return Server(
        process=process, port=port, command=command, log_path=log_path, workers_expected=workers
    )


def _gunicorn_command(
    port: int, app_dir: Path, workers: int, server: str, threads: int, log_path: Path,
    extra_args: list[str],
) -> list[str]:  # fmt: skip
    # gunicorn reads the checkout's gunicorn.conf.py (cwd), where there is one.
    return [
        sys.executable, "-m", "gunicorn", "orderservice.wsgi:application",
        "--chdir", str(app_dir), "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--worker-class", server.removeprefix("gunicorn-"),
        "--threads", str(threads), "--timeout", "60", "--graceful-timeout", "10",
        "--log-level", "warning", "--error-logfile", str(log_path),
        *extra_args,
    ]  # fmt: skip


def _granian_command(port: int, workers: int, threads: int, extra_args: list[str]) -> list[str]:
    # granian reads no configuration file and has no per-worker hook (its startup/shutdown hooks
    # run in the main process). A dead worker's live gauges are not dropped (no child_exit
    # equivalent; the app has none).
    return [
        sys.executable, "-m", "granian", "--interface", "wsgi",
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--blocking-threads", str(threads),
        "--log-level", "warning", "--no-ws", "--respawn-failed-workers",
        *extra_args, "orderservice.wsgi:application",
    ]  # fmt: skip


def wait_ready(server: Server, *, path: str, token: str, timeout: float = 60.0) -> None:
    """Wait until every worker is up and one request on `path` answers 200."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"the server exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        if len(server.workers()) >= server.workers_expected:
            request = urllib.request.Request(
                server.url + path, headers={"Authorization": f"Token {token}"}
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        return
                    last_error = f"status {response.status}"
            except urllib.error.HTTPError as exc:
                last_error = f"status {exc.code}: {exc.read()[:300]!r}"
            except OSError as exc:
                last_error = str(exc)
        time.sleep(0.2)
    raise BenchError(f"the service did not answer 200 on {path} in {timeout:.0f} s: {last_error}")


# --- the production stack (deploy/stack.py) ----------------------------------------------------


@dataclass
class Stack:
    """The production stack of the measured checkout, started by the benchmark on ports of its
    own: nginx -> app servers -> PgBouncer -> PostgreSQL; stop() ends all of it."""

    script: Path
    state_dir: Path
    env: dict[str, str]
    port: int
    pgbouncer_port: int
    apps: int
    workers_per_app: int
    app_env: dict[str, str]  # what its app servers run with (the stack's app-env.json)
    log_path: Path
    logs_copy: Path  # where its logs are kept once it is stopped

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def processes(self) -> list[int]:
        """Its supervisord and every process under it (nginx, app servers, PgBouncer, ...)."""
        try:
            root = int((self.state_dir / "supervisord.pid").read_text().strip())
        except (OSError, ValueError):
            return []
        found, pending = [], [root]
        while pending:
            pid = pending.pop()
            found.append(pid)
            pending.extend(children(pid))
        return found

    def pgbouncer_pids(self) -> list[int]:
        return [pid for pid in self.processes() if _command_name(pid) == "pgbouncer"]

    def cpu_snapshot(self) -> dict[int, float]:
        return cpu_of(self.processes())

    def stop(self) -> None:
        if not self.state_dir.exists():
            return
        _run_stack(self, "down")
        if (self.state_dir / "logs").exists():  # none when the stack never started
            shutil.copytree(self.state_dir / "logs", self.logs_copy, dirs_exist_ok=True)
        shutil.rmtree(self.state_dir, ignore_errors=True)


def _command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cpu_of(pids: list[int]) -> dict[int, float]:
    snapshot = {}
    for pid in pids:
        seconds = cpu_seconds(pid)
        if seconds is not None:
            snapshot[pid] = seconds
    return snapshot


def _run_stack(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(stack.script), "--state-dir", str(stack.state_dir), *args]
    result = subprocess.run(
        command, cwd=stack.script.parent.parent, env=stack.env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    with stack.log_path.open("a") as log:
        log.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}\n")
    return result


def _free_run(count: int) -> int:
    """The first of `count` consecutive ports free on 127.0.0.1 (the app servers' ports)."""
    for _ in range(50):
        first = free_port()
        if first + count <= 65535 and all(_port_free(first + i) for i in range(1, count)):
            return first
    raise BenchError(f"no {count} consecutive free ports on 127.0.0.1")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_stack(
    *, app_dir: Path, env: dict[str, str], apps: int, workers: int, work_dir: Path
) -> Stack:
    """`deploy/stack.py up` of the checkout at `app_dir`, on the database env["DATABASE_URL"],
    with `workers` sync workers in all split over `apps` app servers; waits until it answers."""
    script = app_dir / "deploy" / "stack.py"
    if not script.exists():
        raise BenchError(f"--stack needs {script} (the production stack) in the measured checkout")
    if workers % apps:
        raise BenchError(f"--workers {workers} does not split evenly over --stack-apps {apps}")
    stack_env = {
        **env,
        "STACK_PORT": str(free_port()),
        "STACK_APPS": str(apps),
        "STACK_APP_PORT": str(_free_run(apps)),
        "STACK_WORKERS": str(workers // apps),
        "STACK_PGBOUNCER_PORT": str(free_port()),
        "STACK_REDIS_PORT": str(free_port()),
        # A server connection for every worker of the stack and of the PgBouncer-only server.
        "STACK_POOL_SIZE": str(max(10, 2 * workers)),
    }
    # Short: supervisord's control socket lives there, and a socket path has at most 107 bytes.
    state_dir = Path(tempfile.mkdtemp(prefix="os-bench-stack-"))
    stack = Stack(
        script=script,
        state_dir=state_dir,
        env=stack_env,
        port=int(stack_env["STACK_PORT"]),
        pgbouncer_port=int(stack_env["STACK_PGBOUNCER_PORT"]),
        apps=apps,
        workers_per_app=workers // apps,
        app_env={},
        log_path=work_dir / "stack.log",
        logs_copy=work_dir / "stack-logs",
    )
    started = _run_stack(stack, "up", "--no-collectstatic")
    if started.returncode != 0:
        stack.stop()
        raise BenchError(
            f"the stack did not start (exit {started.returncode}); see {stack.log_path}:\n"
            f"{(started.stdout + started.stderr)[-2000:]}"
        )
    stack.app_env = json.loads((state_dir / "app-env.json").read_text())
    return stack
