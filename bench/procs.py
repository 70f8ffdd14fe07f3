"""Processes for the benchmark: tool installs, the gunicorn server, CPU and memory from /proc."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
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


# --- gunicorn -----------------------------------------------------------------------------------


@dataclass
class Server:
    """A gunicorn master started by the benchmark; stop() ends it and its workers."""

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


def start_gunicorn(
    *,
    app_dir: Path,
    env: dict[str, str],
    workers: int,
    worker_class: str,
    threads: int,
    log_path: Path,
    extra_args: list[str],
) -> Server:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "orderservice.wsgi:application",
        "--chdir",
        str(app_dir),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--threads",
        str(threads),
        "--timeout",
        "60",
        "--graceful-timeout",
        "10",
        "--log-level",
        "warning",
        "--error-logfile",
        str(log_path),
        *extra_args,
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        command,
        cwd=app_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Server(
        process=process, port=port, command=command, log_path=log_path, workers_expected=workers
    )


def wait_ready(server: Server, *, path: str, token: str, timeout: float = 60.0) -> None:
    """Wait until every worker is up and one request on `path` answers 200."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"gunicorn exited with {server.process.returncode}:\n{server.log_tail()}"
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
