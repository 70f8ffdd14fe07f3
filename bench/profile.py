"""py-spy over the gunicorn workers during a load run, and a summary of where Python time goes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import procs

# Innermost frames that are a blocking call: a PostgreSQL round trip (libpq send, then poll for
# the answer) or the client socket. A worker sampled there is mostly not running Python: it waits,
# or it is runnable again but queued for a core (on a busy 2-core machine the wake-up of the other
# side of the socket often takes the core), which py-spy cannot tell from running.
_PG_WAIT = "waits: PostgreSQL round trips (psycopg send/poll)"
_CLIENT_WAIT = "waits: client socket (gunicorn read/write/close)"
# (pattern on "function (file)", area): psycopg's send and poll under any cursor class.
_WAIT_PATTERNS = (
    (re.compile(r"(\.wait|_execute_send|_exec_command|\._send\w*) \(psycopg/"), _PG_WAIT),
    (re.compile(r"^(close_graceful|write|\w+\.accept|\w+\.wait) \(gunicorn/"), _CLIENT_WAIT),
    (re.compile(r"^Arbiter\.(wait_for_signals|sleep) \(gunicorn/"), "waits: gunicorn master"),
)


def _wait_area(leaf: str) -> str | None:
    for pattern, area in _WAIT_PATTERNS:
        if pattern.search(leaf):
            return area
    return None


# Where a sample's innermost frame lives, by path fragment; the first match wins.
_AREAS = (
    ("psycopg", "/psycopg"),
    ("django.db (ORM, SQL compiler, backends)", "/django/db/"),
    ("rest_framework", "/rest_framework/"),
    ("django (HTTP, middleware, urls, utils)", "/django/"),
    ("gunicorn", "/gunicorn/"),
    ("tenacity", "/tenacity/"),
    ("orderservice (the app's own code)", "/orderservice/"),
    ("json (stdlib)", "/json/"),
    ("python stdlib, other", "/lib/python3"),
)


def _py_spy() -> str:
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise procs.BenchError(
            "py-spy is not installed: `make install` brings it (a dev dependency), or "
            "`.venv/bin/pip install py-spy`."
        )
    return found


def record(
    *,
    pids: list[int],
    seconds: float,
    idle: bool,
    out_dir: Path,
    load_run: Callable[[], dict],
) -> dict[str, Any]:
    """Sample the workers (children of the gunicorn master) while `load_run` drives them."""
    raw_path = out_dir / "profile-place_uniform.txt"
    command = [
        _py_spy(),
        "record",
        "--pid",
        str(pids[0]),
        "--subprocesses",
        # Blocking mode (py-spy pauses a worker for each sample): only then does it match Python
        # threads to OS threads and tell a worker waiting on PostgreSQL from one running Python;
        # --nonblocking falls back to a heuristic that counts psycopg's socket wait as busy.
        "--rate",
        "100",
        "--duration",
        str(int(seconds) + 2),
        "--format",
        "raw",
        "--nolineno",
        "--full-filenames",
        "--output",
        str(raw_path),
    ]
    if idle:
        command.append("--idle")
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(1)  # py-spy attaches to every worker before the load starts
        run = load_run()
        _, err = spy.communicate(timeout=seconds + 60)
    finally:
        if spy.poll() is None:
            spy.kill()
            spy.wait()
    if spy.returncode != 0 or not raw_path.exists():
        raise procs.BenchError(f"py-spy failed ({spy.returncode}): {err.decode()[-2000:]}")
    summary = summarize(raw_path.read_text(), idle=idle)
    summary["raw_file"] = str(raw_path)
    summary["run_ok_per_s"] = run["ok_per_s"]
    summary["text"] = render(summary)
    return summary


def _short(frame: str) -> str:
    """`func (/path/site-packages/django/db/x.py)` -> `func (django/db/x.py)`."""
    name, _, path = frame.rpartition(" (")
    path = path.rstrip(")")
    for marker in ("site-packages/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        if "/orderservice/" in path:
            path = "orderservice/" + path.split("/orderservice/", 1)[1]
    return f"{name} ({path})"


def _area(frame: str) -> str:
    for area, fragment in _AREAS:
        if fragment in frame:
            return area
    return "other (C extensions, unknown)"


def summarize(raw: str, *, idle: bool) -> dict[str, Any]:
    """Self and inclusive time per function, and self time per area, from py-spy's raw output."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    work: Counter[str] = Counter()  # self time outside the blocking calls
    processes: set[str] = set()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = []
        for frame in stack.split(";"):
            if frame.startswith("process "):
                processes.add(frame.split(":", 1)[0])
            else:
                frames.append(frame)
        if not frames:
            continue
        total += count
        leaf = _short(frames[-1])
        self_time[leaf] += count
        waiting = _wait_area(leaf)
        areas[waiting or _area(frames[-1])] += count
        if waiting is None:
            work[leaf] += count
        for frame in {_short(f) for f in frames}:
            inclusive[frame] += count

    def share(counter: Counter[str], limit: int, ceiling: float = 1.01) -> list[dict]:
        rows = []
        whole = max(total, 1)
        for name, n in counter.most_common():
            if n / whole >= ceiling:
                continue  # the frames every sample passes through say nothing
            rows.append({"function": name, "percent": round(100 * n / whole, 1)})
            if len(rows) == limit:
                break
        return rows

    return {
        "samples": total,
        "processes": len(processes),
        "mode": "wall time (idle included)" if idle else "CPU only (idle waits excluded)",
        "areas": share(areas, 20),
        "top_self": share(self_time, 20),
        "top_self_outside_waits": share(work, 25),
        "top_inclusive": share(inclusive, 40, ceiling=0.97),
    }


def render(summary: dict[str, Any]) -> str:
    lines = [
        f"  Profile of place_uniform (py-spy, {summary['mode']}, {summary['samples']} samples"
        f" over {summary['processes']} processes incl. the master; the profiled run did"
        f" {summary.get('run_ok_per_s', 0):.0f} ok/s):",
        "    self time by area (innermost frame):",
    ]
    lines += [f"      {row['percent']:5.1f}%  {row['function']}" for row in summary["areas"]]
    lines.append("    top functions by self time, blocking calls left out (% of all samples):")
    lines += [
        f"      {row['percent']:5.1f}%  {row['function']}"
        for row in summary["top_self_outside_waits"][:20]
    ]
    lines.append("    top functions by inclusive time (frames under 97%):")
    lines += [
        f"      {row['percent']:5.1f}%  {row['function']}" for row in summary["top_inclusive"][:40]
    ]
    return "\n".join(lines)
