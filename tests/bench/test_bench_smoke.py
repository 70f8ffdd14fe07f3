"""`make bench` in miniature: the whole runner, a second per scenario, then the invariants."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.stack.conftest import require_stack_tools

REPO_DIR = Path(__file__).resolve().parents[2]
SCENARIOS = {"place_uniform", "place_hot", "mixed", "floor", "db_ceiling", "db_ceiling_hot"}


def _server_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}"


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_bench_runs_end_to_end_and_the_invariants_hold(tmp_path):
    # given: a database of its own, so parallel test runs don't share one
    database = f"os_bench_smoke_{os.getpid()}"
    result_file = tmp_path / "smoke.json"
    command = [
        sys.executable,
        "-m",
        "bench.run",
        "--pg-url",
        _server_url(),
        "--db",
        database,
        "--drop-db",
        "--products",
        "200",
        "--users",
        "4",
        "--edit-pool",
        "20",
        "--cancel-pool",
        "100",
        "--duration",
        "1",
        "--repeats",
        "1",
        "--warmup",
        "0",
        "--workers",
        "2",
        "--results-dir",
        str(tmp_path),
        "--json",
        str(result_file),
        "--label",
        "smoke",
    ]

    # when (the runner installs wrk with apt-get if it is missing, or says why it can't)
    run = subprocess.run(command, cwd=REPO_DIR, capture_output=True, text=True, timeout=240)

    # then
    output = f"stdout:\n{run.stdout[-4000:]}\nstderr:\n{run.stderr[-4000:]}"
    assert run.returncode == 0, output
    results = json.loads(result_file.read_text())
    assert set(results["medians"]) == SCENARIOS
    for scenario, figures in results["medians"].items():
        assert figures["ok_per_s"] > 0, scenario
        assert figures["errors"] == 0, (scenario, figures["error_kinds"], output)
        assert figures["p50_ms"] <= figures["p99_ms"], scenario
    assert results["invariants"]["ok"], results["invariants"]
    assert results["invariants"]["conservation_violations"] == 0
    assert results["order_accounting"]["ok"], results["order_accounting"]
    assert results["order_accounting"]["cancels_answered_200"] > 0  # mixed really cancels
    assert {"place / framework floor", "place / database ceiling", "hot / uniform"} <= set(
        results["ratios"]
    )
    assert len(results["memory"]["workers"]) == 2
    assert results["memory"]["worker_rss_mib_median"] > 0
    assert "SPEC §7 invariants: OK" in run.stdout


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_bench_stack_places_through_pgbouncer_and_the_whole_stack(tmp_path):
    require_stack_tools()
    database = f"os_bench_stack_smoke_{os.getpid()}"
    result_file = tmp_path / "stack.json"
    command = [
        *(sys.executable, "-m", "bench.run", "--pg-url", _server_url(), "--db", database),
        *("--drop-db", "--products", "200", "--users", "4", "--edit-pool", "20"),
        *("--cancel-pool", "100", "--duration", "1", "--repeats", "1", "--warmup", "0"),
        *("--workers", "2", "--scenarios", "place_uniform", "--stack"),
        *("--results-dir", str(tmp_path), "--json", str(result_file), "--label", "stack"),
    ]

    run = subprocess.run(command, cwd=REPO_DIR, capture_output=True, text=True, timeout=240)

    output = f"stdout:\n{run.stdout[-4000:]}\nstderr:\n{run.stderr[-4000:]}"
    assert run.returncode == 0, output
    results = json.loads(result_file.read_text())
    assert list(results["medians"]) == ["place_uniform", "place_pgbouncer", "place_stack"]
    for scenario, figures in results["medians"].items():
        assert figures["ok_per_s"] > 0, scenario
        assert figures["errors"] == 0, (scenario, figures["error_kinds"], output)
        assert figures["cpu_cores"]["service"] > 0, scenario  # what served it was measured
    assert {"stack / direct place", "PgBouncer only / direct place"} <= set(results["ratios"])
    assert results["settings"]["stack"]["workers_per_app"] == 2
    assert results["invariants"]["ok"], results["invariants"]
    assert results["order_accounting"]["ok"], results["order_accounting"]
    (work_dir,) = tmp_path.glob("*-stack/")
    assert (work_dir / "stack-logs" / "nginx-access.log").stat().st_size > 0  # logs kept
    stack_log = (work_dir / "stack.log").read_text()
    assert "is stopped" in stack_log, stack_log  # `down`, after the runs
    state = Path(stack_log.split("--state-dir ", 1)[1].split()[0])
    assert not state.exists()
