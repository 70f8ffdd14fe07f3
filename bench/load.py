"""The load generators: wrk (with bench/wrk.lua) against the service, pgbench against PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import procs

BENCH_DIR = Path(__file__).resolve().parent
WRK_SCRIPT = BENCH_DIR / "wrk.lua"
PGBENCH_SCRIPT = "bench/pgbench_order.sql"  # the revision measured's: its schema, its SQL

HTTP_SCENARIOS = ("place_uniform", "place_hot", "mixed", "floor")
DB_SCENARIOS = ("db_ceiling", "db_ceiling_hot")


@dataclass(frozen=True)
class Load:
    """What every run of one benchmark shares."""

    duration: float
    connections: int
    threads: int
    products: int
    id_width: int
    work_dir: Path
    # The service's EVENTS_ENABLED and CURRENCY: the ceiling writes the order's event as it does.
    events: bool = True
    currency: str = "USD"


def _percentile_ms(sorted_us: list[float], fraction: float) -> float | None:
    if not sorted_us:
        return None
    index = min(len(sorted_us) - 1, max(0, round(fraction * len(sorted_us)) - 1))
    return sorted_us[index] / 1000


# --- CPU accounting around one run --------------------------------------------------------------


@contextmanager
def cpu_meter(
    server_snapshot: Callable[[], dict[int, float]],
    db_snapshot: Callable[[], dict[int, float]],
) -> Iterator[dict[str, Any]]:
    """Cores used during the block by the service, our PostgreSQL backends, the load generator
    (children of this process that ended in the block) and the whole machine (everyone's)."""
    found: dict[str, Any] = {}
    app0, db0 = server_snapshot(), db_snapshot()
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, total0 = procs.machine_busy_ticks()
    start = time.monotonic()
    yield found
    wall = time.monotonic() - start
    busy1, total1 = procs.machine_busy_ticks()
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    app1, db1 = server_snapshot(), db_snapshot()

    def spent(before: dict[int, float], after: dict[int, float]) -> float:
        return sum(after[pid] - before[pid] for pid in after if pid in before)

    cores = os.cpu_count() or 1
    loadgen = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    found["cpu_cores"] = {
        "service": round(spent(app0, app1) / wall, 2) if app1 else None,
        "postgres": round(spent(db0, db1) / wall, 2) if db1 else None,
        "loadgen": round(loadgen / wall, 2),
        "machine": round(cores * (busy1 - busy0) / max(1, total1 - total0), 2),
    }


# --- wrk ----------------------------------------------------------------------------------------


def run_wrk(scenario: str, *, url: str, load: Load, data_file: Path, duration: float) -> dict:
    """One timed wrk run of `scenario`; the figures of bench/wrk.lua's summary."""
    command = [
        procs.ensure_tool("wrk"),
        "--threads",
        str(load.threads),
        "--connections",
        str(load.connections),
        "--duration",
        f"{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "--script",
        str(WRK_SCRIPT),
        url,
        "--",
        scenario,
        str(data_file),
        str(load.products),
        str(load.id_width),
        str(load.threads),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    line = next(
        (ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_JSON ")),
        None,
    )
    if result.returncode != 0 or line is None:
        raise procs.BenchError(
            f"wrk failed ({result.returncode}) on {scenario}:\n{result.stdout[-2000:]}\n"
            f"{result.stderr[-2000:]}"
        )
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    counts: dict[str, int] = raw["counts"]
    seconds = raw["duration_us"] / 1e6
    ok = counts.get("status_200", 0)
    bad_status = {
        key.removeprefix("status_"): n
        for key, n in counts.items()
        if key.startswith("status_") and key != "status_200"
    }
    socket_errors = {k: v for k, v in raw["errors"].items() if k != "status" and v}
    latency = raw["latency_us"]
    return {
        "scenario": scenario,
        "ok_per_s": round(ok / seconds, 1),
        "requests": raw["requests"],
        "ok": ok,
        "seconds": round(seconds, 2),
        "p50_ms": latency["p50"] / 1000,
        "p95_ms": latency["p95"] / 1000,
        "p99_ms": latency["p99"] / 1000,
        "mean_ms": round(latency["mean"] / 1000, 2),
        "max_ms": latency["max"] / 1000,
        "errors": sum(bad_status.values()) + sum(socket_errors.values()),
        "error_statuses": bad_status,
        "socket_errors": socket_errors,
        "kinds": {k: v for k, v in counts.items() if not k.startswith("status_")},
        "error_samples": raw["samples"],
        "cancel_sent": raw["cancel_sent"],
    }


def cancels_sent(pool: list[Any], sent_per_thread: list[int], threads: int) -> set[str]:
    """The order ids of `pool` that a mixed run sent a DELETE for (bench/wrk.lua's slicing)."""
    sent: set[str] = set()
    for thread, count in enumerate(sent_per_thread):
        mine = [order for i, order in enumerate(pool) if i % threads == thread]
        sent.update(order.order_id for order in mine[:count])
    return sent


# --- pgbench ------------------------------------------------------------------------------------


def run_pgbench(
    scenario: str,
    *,
    pg: dict[str, Any],
    load: Load,
    min_user: int,
    max_user: int,
    protocol: str,
    run_tag: str,
    app_dir: Path,
) -> dict:
    """One timed pgbench run of bench/pgbench_order.sql (the SQL of one 3-line order), as the
    revision measured (`app_dir`) has it: the ceiling of its schema and its order statement."""
    script = app_dir / PGBENCH_SCRIPT
    if not script.exists():  # a revision from before the benchmark: the runner's own
        script = BENCH_DIR.parent / PGBENCH_SCRIPT
    log_dir = load.work_dir / f"pgbench-{run_tag}"
    log_dir.mkdir(parents=True, exist_ok=True)
    prefix = log_dir / "txn"
    command = [
        procs.ensure_tool("pgbench"),
        "--no-vacuum",
        "--client",
        str(load.connections),
        "--jobs",
        str(load.threads),
        "--time",
        str(max(1, round(load.duration))),
        "--protocol",
        protocol,
        "--max-tries",
        "10",
        "--failures-detailed",
        "--log",
        f"--log-prefix={prefix}",
        "--file",
        str(script),
        "-D",
        f"products={load.products}",
        "-D",
        f"width={load.id_width}",
        "-D",
        f"hot={1 if scenario == 'db_ceiling_hot' else 0}",
        "-D",
        f"min_user={min_user}",
        "-D",
        f"max_user={max_user}",
        "-D",
        f"events={1 if load.events else 0}",
        "-D",
        f"currency={load.currency}",
        "--host",
        pg["host"],
        "--port",
        str(pg["port"]),
        "--username",
        pg["user"],
        pg["dbname"],
    ]
    env = {**os.environ}
    if pg.get("password"):
        env["PGPASSWORD"] = pg["password"]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=load.duration + 60, env=env
    )
    out = result.stdout + result.stderr
    processed = _grab_int(r"number of transactions actually processed: (\d+)", out)
    if result.returncode not in (0, 2) or not processed:  # none processed: every client aborted
        raise procs.BenchError(
            f"pgbench failed ({result.returncode}) on {scenario}:\n{out[-3000:]}"
        )
    failed = _grab_int(r"number of failed transactions: (\d+)", out) or 0
    retried = _grab_int(r"number of transactions retried: (\d+)", out) or 0
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    latencies = sorted(_pgbench_latencies(log_dir))
    errors_text = [ln for ln in out.splitlines() if "error" in ln.lower()][:5]
    return {
        "scenario": scenario,
        "ok_per_s": round(float(tps.group(1)), 1) if tps else None,
        "requests": processed + failed,
        "ok": processed,
        "seconds": load.duration,
        "p50_ms": _percentile_ms(latencies, 0.50),
        "p95_ms": _percentile_ms(latencies, 0.95),
        "p99_ms": _percentile_ms(latencies, 0.99),
        "mean_ms": round(statistics.fmean(latencies) / 1000, 2) if latencies else None,
        "max_ms": latencies[-1] / 1000 if latencies else None,
        "errors": failed,
        "error_statuses": {},
        "socket_errors": {},
        "retried": retried,
        "kinds": {"placed": processed},
        "error_samples": errors_text,
    }


def _grab_int(pattern: str, text: str) -> int | None:
    match = re.search(pattern, text)
    return int(match.group(1)) if match else None


def _pgbench_latencies(log_dir: Path) -> list[float]:
    # Per-transaction log lines: client_id transaction_no time script_no epoch epoch_us [...];
    # `time` is the latency in microseconds ("failed" for a transaction that failed).
    latencies: list[float] = []
    for path in log_dir.glob("txn*"):
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) > 2 and fields[2].isdigit():
                latencies.append(float(fields[2]))
        path.unlink()
    return latencies
