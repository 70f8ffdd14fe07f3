"""`make bench`: the order service under load, beside PostgreSQL's own ceiling, then the invariants.

Brings up a fresh PostgreSQL database, migrates it, loads products, users with tokens and orders,
serves the service under uWSGI as serve.py runs it (or gunicorn, granian: --server), and drives it
with wrk for a fixed time per scenario, repeated; runs pgbench with the SQL of one order in the
same run; prints one table of medians and ratios, checks the SPEC §7 invariants on the database,
and writes the same figures as JSON under bench/results/. With --stack, place_uniform is also
driven through the production stack (nginx -> app servers -> PgBouncer) and through PgBouncer
alone, in the same run.
`python -m bench.run --help` lists the knobs; bench/README.md says how to read the output.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dj_database_url
import psycopg

from bench import load, procs, profile, report

REPO_DIR = Path(__file__).resolve().parent.parent
ALL_SCENARIOS = (*load.HTTP_SCENARIOS, *load.DB_SCENARIOS)
# With --stack, right after each place_uniform run: the same load through PgBouncer alone
# (app server -> PgBouncer -> PostgreSQL), then through the whole stack (nginx -> app servers ->
# PgBouncer -> PostgreSQL).
STACK_SCENARIOS = ("place_pgbouncer", "place_stack")
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n", 1)[0]
    )
    add = parser.add_argument
    add("--duration", type=float, default=10, help="seconds per scenario run (default 10)")
    add("--repeats", type=int, default=3, help="runs per scenario; medians reported (default 3)")
    add("--connections", type=int, default=32, help="wrk connections, pgbench clients (32)")
    add("--threads", type=int, default=2, help="wrk threads and pgbench jobs (default 2)")
    add("--scenarios", default=",".join(ALL_SCENARIOS), help="comma-separated subset, in order")
    add("--warmup", type=float, default=3, help="seconds of unmeasured load first (default 3)")
    add("--products", type=int, default=10_000, help="products loaded (default 10,000)")
    add("--stock", type=int, default=1_000_000, help="initial stock of every product")
    add("--users", type=int, default=64, help="users with tokens (default 64)")
    add("--edit-pool", type=int, default=300, help="orders the mixed scenario edits and reads")
    add("--cancel-pool", type=int, default=1500, help="orders the mixed scenario cancels")
    add("--server", default="uwsgi", choices=procs.SERVERS, help="(uwsgi: serve.py)")
    add("--workers", type=int, default=2 * cores, help=f"server workers (default {2 * cores})")
    add("--server-threads", type=int, help="threads per worker (1; gunicorn-gthread: 4)")
    add("--server-arg", action="append", default=[], help="extra server argument (repeat)")
    add("--env", action="append", default=[], metavar="KEY=VALUE", help="service env (repeat)")
    add("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL), help="server URL")
    add("--db", default=os.environ.get("BENCH_DB", "os_bench"), help="database (re)created")
    add("--drop-db", action="store_true", help="drop the database at the end (default: keep)")
    # prepared: the service prepares its statements on a direct connection (DB_PREPARE_THRESHOLD),
    # so the ceiling does too; `simple` is what the service does behind PgBouncer.
    add("--pgbench-protocol", default="prepared", choices=["simple", "extended", "prepared"])
    add("--app-dir", type=Path, default=REPO_DIR, help="checkout whose service is measured")
    add("--commit", help="measure this git revision instead (exported; the work tree untouched)")
    add("--results-dir", type=Path, default=REPO_DIR / "bench" / "results")
    add("--json", type=Path, help="also write the JSON here")
    add("--label", default="", help="a word for the results file name and the report")
    add("--profile", action="store_true", help="then py-spy the workers under place_uniform")
    add("--profile-seconds", type=float, default=20, help="length of the profiled run (20)")
    add("--profile-idle", action="store_true", help="profile wall time (idle waits included)")
    add("--stack", action="store_true", help="also place through PgBouncer, and nginx + PgBouncer")
    add("--stack-apps", type=int, default=1, help="app servers of the stack; --workers split (1)")
    args = parser.parse_args(argv)
    if args.server_threads is None:
        args.server_threads = 4 if args.server == "gunicorn-gthread" else 1
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(ALL_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {', '.join(ALL_SCENARIOS)}")
    if not re.fullmatch(r"[a-z0-9_]*bench[a-z0-9_]*", args.db):
        parser.error("--db must be lower-case [a-z0-9_] and contain 'bench' (it is dropped)")
    if args.products < 10 or args.users < 1 or args.repeats < 1:
        parser.error("need at least 10 products, 1 user and 1 repeat")
    if args.stack and "place_uniform" not in args.scenarios:
        parser.error("--stack compares with place_uniform: include it in --scenarios")
    if args.stack_apps < 1 or args.workers % args.stack_apps:
        parser.error("--workers must split evenly over --stack-apps")
    return args


# --- database -----------------------------------------------------------------------------------


def _pg_params(url: str, dbname: str) -> dict[str, Any]:
    parsed = dj_database_url.parse(url.rstrip("/") + "/" + dbname)
    return {
        "host": parsed.get("HOST") or "127.0.0.1",
        "port": int(parsed.get("PORT") or 5432),
        "user": parsed.get("USER") or "postgres",
        "password": parsed.get("PASSWORD") or "",
        "dbname": dbname,
    }


def _connect(pg: dict[str, Any], dbname: str | None = None) -> psycopg.Connection:
    return psycopg.connect(
        host=pg["host"],
        port=pg["port"],
        user=pg["user"],
        password=pg["password"] or None,
        dbname=dbname or pg["dbname"],
        autocommit=True,
        connect_timeout=5,
    )


def recreate_database(pg: dict[str, Any]) -> None:
    with _connect(pg, "postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{pg["dbname"]}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{pg["dbname"]}"')


def drop_database(pg: dict[str, Any]) -> None:
    with _connect(pg, "postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{pg["dbname"]}" WITH (FORCE)')


def backend_cpu(conn: psycopg.Connection, dbname: str) -> dict[int, float]:
    """CPU seconds of every PostgreSQL backend connected to the benchmark database but ours."""
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (dbname,),
    ).fetchall()
    snapshot = {}
    for (pid,) in rows:
        seconds = procs.cpu_seconds(pid)
        if seconds is not None:
            snapshot[pid] = seconds
    return snapshot


# --- the run ------------------------------------------------------------------------------------


def service_env(args: argparse.Namespace, database_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_")) and key != "DATABASE_URL"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="orderservice.settings",
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        # All the load comes from one address: the default per-IP limit (100000/min) would cap
        # the cheap scenarios. The per-user limit stays on (64 users stay far below it).
        THROTTLE_RATE_IP="off",
    )
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--env wants KEY=VALUE, got {item!r}")
        env[key] = value
    return env


def _git_describe(app_dir: Path) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(app_dir), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except OSError:
        return "unknown"
    return result.stdout.strip() or "unknown (not a git checkout)"


def machine_busy_cores(seconds: float) -> float:
    """Cores the whole machine keeps busy over `seconds` (others' load, before ours starts)."""
    busy0, total0 = procs.machine_busy_ticks()
    time.sleep(seconds)
    busy1, total1 = procs.machine_busy_ticks()
    return (os.cpu_count() or 1) * (busy1 - busy0) / max(1, total1 - total0)


def write_data_file(path: Path, users: list[Any], edit: list[Any], cancel: list[Any]) -> None:
    lines = [f"U\t{u.token}" for u in users]
    lines += [f"E\t{o.user_index}\t{o.order_id}\t{','.join(o.product_ids)}" for o in edit]
    lines += [f"C\t{o.user_index}\t{o.order_id}" for o in cancel]
    path.write_text("\n".join(lines) + "\n")


def export_commit(revision: str, into: Path) -> tuple[Path, str]:
    """`git archive` of a revision of this repository into `into`; (its directory, its hash)."""
    resolved = subprocess.run(
        ["git", "-C", str(REPO_DIR), "rev-parse", "--verify", f"{revision}^{{commit}}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if resolved.returncode != 0:
        raise procs.BenchError(f"no such revision {revision!r}: {resolved.stderr.strip()}")
    sha = resolved.stdout.strip()
    archive = subprocess.run(
        ["git", "-C", str(REPO_DIR), "archive", "--format=tar", sha],
        capture_output=True,
        timeout=120,
        check=True,
    )
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into, sha[:12]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with contextlib.ExitStack() as cleanup:
            return _bench(args, argv, cleanup)
    finally:
        if args.drop_db:
            drop_database(_pg_params(args.pg_url, args.db))


def _bench(args: argparse.Namespace, argv: list[str] | None, cleanup: contextlib.ExitStack) -> int:
    started = datetime.now(UTC)
    for tool in ("wrk", "pgbench"):
        procs.ensure_tool(tool)
    cores = os.cpu_count() or 1
    pg = _pg_params(args.pg_url, args.db)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    name = f"{stamp}-{args.label}" if args.label else stamp
    work_dir = args.results_dir / name
    work_dir.mkdir(parents=True, exist_ok=True)
    if args.commit:
        # Outside the repository, so that no tool (mypy, ruff, pytest) ever sees a second copy.
        export = tempfile.TemporaryDirectory(prefix="os-bench-app-")
        cleanup.callback(export.cleanup)
        app_dir, app_version = export_commit(args.commit, Path(export.name))
    else:
        app_dir = args.app_dir.resolve()
        app_version = _git_describe(app_dir)
    width = max(5, len(str(args.products - 1)))
    password = f":{pg['password']}" if pg["password"] else ""
    database_url = f"postgres://{pg['user']}{password}@{pg['host']}:{pg['port']}/{pg['dbname']}"
    env = service_env(args, database_url)
    loadspec = load.Load(
        duration=args.duration,
        connections=args.connections,
        threads=args.threads,
        products=args.products,
        id_width=width,
        work_dir=work_dir,
        events=env.get("EVENTS_ENABLED", "1").strip().lower() in {"1", "true", "yes", "on"},
        currency=env.get("CURRENCY", "USD"),
    )

    busy_before = machine_busy_cores(2.0)
    print(f"bench: the machine was {busy_before:.2f} of {cores} cores busy before the run")
    if busy_before > 0.5:
        print("bench: WARNING: other processes are using the CPU; figures will be low and noisy")
    print(f"bench: database {pg['dbname']} on {pg['host']}:{pg['port']} (recreated)")
    recreate_database(pg)
    from bench import seed  # imports Django lazily: the environment must be set first

    seed.setup_django(app_dir, env)
    t0 = time.monotonic()
    seed.migrate()
    users = seed.load_users(args.users)
    plan, held = seed.plan_orders(
        users=len(users),
        count=args.edit_pool + args.cancel_pool,
        products=args.products,
        width=width,
        rng=random.Random(20261125),
    )
    seed.load_products(count=args.products, stock=args.stock, width=width, held=held)
    pool = seed.load_orders(plan, users, stock=args.stock)
    edit_pool, cancel_pool = pool[: args.edit_pool], pool[args.edit_pool :]
    statements = seed.statement_counts(user=users[0], products=args.products, width=width)
    seeded_orders, seeded_cancelled = seed.count_orders()
    seed.close_connections()
    data_file = work_dir / "wrk-data.tsv"
    write_data_file(data_file, users, edit_pool, cancel_pool)
    print(
        f"bench: loaded {args.products} products, {args.users} users, {len(pool)} orders"
        f" in {time.monotonic() - t0:.1f} s"
    )

    monitor = _connect(pg)
    stack = pgbouncer_server = None
    if args.stack:
        stack = procs.start_stack(
            app_dir=app_dir, env=env, apps=args.stack_apps, workers=args.workers, work_dir=work_dir
        )
        cleanup.callback(stack.stop)
        # The stack's app servers count their rate limits in Redis: so do the others, so that
        # the comparison is of nginx and PgBouncer alone.
        env["REDIS_URL"] = stack.app_env["REDIS_URL"]
        print(f"bench: the stack is up on {stack.url} (Redis {env['REDIS_URL']} for every server)")
    server = procs.start_server(
        server=args.server,
        app_dir=app_dir,
        env=env,
        workers=args.workers,
        threads=args.server_threads,
        log_path=work_dir / "server.log",
        extra_args=args.server_arg,
    )
    if stack is not None:
        # The direct server's twin, its database connections through the stack's PgBouncer.
        pgbouncer_server = procs.start_server(
            server=args.server,
            app_dir=app_dir,
            env={
                **env,
                "DATABASE_URL": stack.app_env["DATABASE_URL"],
                "DB_POOLER": stack.app_env.get("DB_POOLER", "pgbouncer"),
            },
            workers=args.workers,
            threads=args.server_threads,
            log_path=work_dir / "server-pgbouncer.log",
            extra_args=args.server_arg,
        )
        cleanup.callback(pgbouncer_server.stop)
    scenarios = list(args.scenarios)
    if stack is not None:
        at = scenarios.index("place_uniform") + 1
        scenarios[at:at] = STACK_SCENARIOS
    runs: dict[str, list[dict]] = {s: [] for s in scenarios}
    cancel_left = list(cancel_pool)
    tally = {"placed": 0, "cancelled": 0, "inflight_bound": 0}
    profile_summary: dict[str, Any] | None = None
    memory: dict[str, Any] = {}
    min_user = min(u.user_id for u in users)
    max_user = max(u.user_id for u in users)

    def target(scenario: str) -> tuple[str, str, Any]:
        """(the wrk scenario, the URL it loads, the CPU snapshot of what serves it)."""
        if scenario == "place_stack" and stack is not None:
            return "place_uniform", stack.url, stack.cpu_snapshot
        if scenario == "place_pgbouncer" and stack is not None and pgbouncer_server is not None:
            twin, pooler = pgbouncer_server, stack

            def snapshot() -> dict[int, float]:
                return {**twin.cpu_snapshot(), **procs.cpu_of(pooler.pgbouncer_pids())}

            return "place_uniform", pgbouncer_server.url, snapshot
        return scenario, server.url, server.cpu_snapshot

    def measured(scenario: str, duration: float, tag: str) -> dict:
        if scenario == "mixed":
            # Each wrk run starts its cancel slices afresh: hand it only orders no earlier run
            # sent a DELETE for (answered or still in flight when that run ended).
            write_data_file(data_file, users, edit_pool, cancel_left)
        wrk_scenario, url, serving = target(scenario)
        with load.cpu_meter(serving, lambda: backend_cpu(monitor, pg["dbname"])) as m:
            if scenario in load.DB_SCENARIOS:
                result = load.run_pgbench(
                    scenario,
                    pg=pg,
                    load=loadspec,
                    min_user=min_user,
                    max_user=max_user,
                    protocol=args.pgbench_protocol,
                    run_tag=tag,
                    app_dir=app_dir,
                )
            else:
                result = load.run_wrk(
                    wrk_scenario, url=url, load=loadspec, data_file=data_file, duration=duration
                )
                result["scenario"] = scenario
        result.update(m)
        if scenario == "mixed":
            sent = load.cancels_sent(cancel_left, result["cancel_sent"], args.threads)
            cancel_left[:] = [o for o in cancel_left if o.order_id not in sent]
        if scenario in load.DB_SCENARIOS:
            # pgbench's backends come and go within the run: their CPU can't be read at its end.
            result["cpu_cores"]["postgres"] = None
        tally["placed"] += result["kinds"].get("placed", 0)
        tally["cancelled"] += result["kinds"].get("cancelled", 0)
        tally["inflight_bound"] += args.connections
        return result

    try:
        procs.wait_ready(
            server, path=f"/products/{seed.product_id(0, width)}", token=users[0].token
        )
        print(f"bench: {args.server} {args.workers} x {args.server_threads} on {server.url}")
        if pgbouncer_server is not None:
            procs.wait_ready(
                pgbouncer_server,
                path=f"/products/{seed.product_id(0, width)}",
                token=users[0].token,
            )
        if args.warmup > 0:
            for scenario in ("floor", "place_uniform", *(s for s in STACK_SCENARIOS if s in runs)):
                measured(scenario, args.warmup, "warmup")
        for repeat in range(1, args.repeats + 1):
            for scenario in scenarios:
                result = measured(scenario, args.duration, f"{scenario}-{repeat}")
                runs[scenario].append(result)
                print(report.progress_line(repeat, args.repeats, result))
        memory = report.memory_of(server.process.pid, server.workers())
        if args.profile:
            profile_summary = profile.record(
                pids=[server.process.pid],
                seconds=args.profile_seconds,
                idle=args.profile_idle,
                out_dir=work_dir,
                load_run=lambda: measured("place_uniform", args.profile_seconds, "profile"),
            )
    finally:
        server.stop()
        if pgbouncer_server is not None:
            pgbouncer_server.stop()
        if stack is not None:
            stack.stop()
    time.sleep(0.5)  # let the last backends of the workers go

    invariants = report.check_invariants(monitor, stock=args.stock, products=args.products)
    orders_total, cancelled_total = monitor.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'cancelled') FROM orders_order"
    ).fetchone() or (0, 0)
    monitor.close()
    accounting = report.order_accounting(
        stored=orders_total,
        stored_cancelled=cancelled_total,
        seeded=seeded_orders,
        seeded_cancelled=seeded_cancelled,
        tally=tally,
    )
    medians = {s: report.median_run(r) for s, r in runs.items() if r}
    results = {
        "label": args.label,
        "started_at": started.isoformat(),
        "command": " ".join(["python -m bench.run", *(argv if argv is not None else sys.argv[1:])]),
        "app": {"dir": str(app_dir), "git": app_version},
        "machine": {
            "cores": cores,
            "busy_cores_before": round(busy_before, 2),
            "load_average": os.getloadavg(),
        },
        "settings": {
            "duration_s": args.duration,
            "repeats": args.repeats,
            "connections": args.connections,
            "wrk_threads": args.threads,
            "products": args.products,
            "stock": args.stock,
            "users": args.users,
            "server": {
                "name": args.server,
                "workers": args.workers,
                "threads": args.server_threads,
                "extra": args.server_arg,
            },
            "service_env": args.env,
            "pgbench_protocol": args.pgbench_protocol,
            "stack": None
            if stack is None
            else {
                "apps": stack.apps,
                "workers_per_app": stack.workers_per_app,
                "redis_url": env["REDIS_URL"],
            },
        },
        "medians": medians,
        "ratios": report.ratios(runs),
        "memory": memory,
        "statements": statements,
        "invariants": invariants,
        "order_accounting": accounting,
        "profile": profile_summary,
        "runs": runs,
    }
    text = report.table(results)
    print()
    print(text)
    json_path = args.results_dir / f"{name}.json"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    (args.results_dir / f"{name}.txt").write_text(text + "\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(json_path, args.json)
    print(f"\nbench: results in {json_path} (work files in {work_dir})")
    failed = not invariants["ok"] or not accounting["ok"]
    errors = sum(m["errors"] for m in medians.values())
    if failed:
        print("bench: FAILED: an invariant does not hold (see above)")
        return 1
    if errors:
        print(f"bench: FAILED: {errors} errors across the runs (see the error samples in the JSON)")
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except procs.BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(3)
