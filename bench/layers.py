"""`make bench-layers`: instructions per request, layer by layer, counted by callgrind.

Callgrind counts the CPU instructions a process executes, the same on a busy machine as on an
idle one, but it attributes them to C functions: CPython's interpreter loop runs every Python
function. So each layer of a request (each middleware, Django's handler, DRF's dispatch stages,
the rendering, the database calls) is wrapped at run time in a probe: a C function of its own
(bench/layers.c, built as a small extension module) that only calls back into Python. The
probe's inclusive cost is that layer's cost, and a probe is chosen per (layer, enclosing layer),
so each layer's own ("self") cost is its inclusive cost minus that of the probes directly inside
it. The probes' own overhead is measured
in the same run (a probe around nothing, and a probe around probes) and taken off.

The service runs with production settings (DEBUG off, JSON request log at INFO, Prometheus in
multiprocess mode) on a fresh SQLite file, or on a PostgreSQL database (`--pg-url`: the database
`--db`, recreated). Requests are WSGI calls of `orderservice.wsgi:application` in one process:
no HTTP server, no socket. `python -m bench.layers --help` lists the knobs; bench/README.md says
how to read the table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
PROBE_SOURCE = Path(__file__).with_suffix(".c")
# Names of the probe functions in bench/layers.c, in the order they are handed out.
PROBES = [f"probe_{group}{i}" for group in range(1, 7) for i in range(8)]
KINDS = ("floor", "place", "read")
# What each kind sends: GET one product (the framework floor), POST one order of one line, GET
# one order (the first one placed; its id read from that answer).
FLOOR_PATH = "/products/SKU-4"
PLACE_BODY = b'{"products": [{"product_id": "SKU-4", "item_count": 1}]}'


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.layers", description=__doc__.split("\n", 1)[0]
    )
    add = parser.add_argument
    add("--requests", type=int, default=20, help="measured requests of each kind (default 20)")
    add("--warmup", type=int, default=5, help="requests of each kind before measuring (5)")
    add("--pg-url", help="PostgreSQL server URL (default: a temporary SQLite file)")
    add("--db", default="os_layers", help="PostgreSQL database, recreated (default os_layers)")
    add("--json", type=Path, help="also write the figures as JSON here")
    add("--keep", action="store_true", help="keep the work folder (callgrind files) and say where")
    add(
        "--probe",
        action="append",
        default=[],
        metavar="MODULE:NAME",
        help="also probe this function or method (e.g. orderservice.inventory.bodies:product_body"
        " or orderservice.api.throttling:IpRateThrottle.allow_request); repeatable. A module"
        " function is probed where it is called through its module, not where it was imported"
        " by name",
    )
    add("--child", choices=["prepare", "measure"], help=argparse.SUPPRESS)
    add("--token", help=argparse.SUPPRESS)
    add("--probes", type=Path, help=argparse.SUPPRESS)
    add("--layout", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.requests < 1 or args.warmup < 1:
        parser.error("need at least 1 request and 1 warm-up request of each kind")
    if not re.fullmatch(r"[a-z0-9_]*(layers|bench)[a-z0-9_]*", args.db):
        parser.error("--db must be lower-case [a-z0-9_] with 'layers' or 'bench' (it is dropped)")
    return args


# --- the parent: build, prepare, run under callgrind, read the counts -----------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child == "prepare":
        return _prepare()
    if args.child == "measure":
        return _measure(args)
    for tool in ("valgrind", "callgrind_annotate", "cc"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench.layers needs {tool}: apt-get install valgrind gcc")
    work = Path(tempfile.mkdtemp(prefix="os-layers-"))
    try:
        results = _run(args, work)
    finally:
        if args.keep:
            print(f"bench.layers: work files (callgrind.out.*) in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    probes = work / f"layers_probes{sysconfig.get_config_var('EXT_SUFFIX')}"
    subprocess.run(
        ["cc", "-O0", "-fno-optimize-sibling-calls", "-shared", "-fPIC",
         f"-I{sysconfig.get_paths()['include']}", "-o", str(probes), str(PROBE_SOURCE)],
        check=True,
    )  # fmt: skip
    env = _service_env(args, work)
    child = [sys.executable, "-m", "bench.layers", "--db", args.db]
    prepared = subprocess.run(
        [*child, "--child", "prepare"], cwd=REPO_DIR, env=env, capture_output=True, text=True
    )
    if prepared.returncode != 0:
        raise SystemExit(f"bench.layers: preparing the database failed:\n{prepared.stderr[-3000:]}")
    token = prepared.stdout.strip().splitlines()[-1]
    layout = work / "layout.json"
    log = work / "service.log"
    with log.open("w") as service_log:
        measured = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={work / 'callgrind.out'}",
             *child, "--child", "measure", f"--token={token}", "--probes", str(probes),
             "--layout", str(layout), "--requests", str(args.requests),
             "--warmup", str(args.warmup), *(f"--probe={p}" for p in args.probe)],
            cwd=REPO_DIR, env=env, stdout=service_log, stderr=service_log,
        )  # fmt: skip
    if measured.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise SystemExit(f"bench.layers: the measured run failed:\n{tail}")
    plan = json.loads(layout.read_text())
    costs = {
        part: _probe_costs(work / f"callgrind.out.{n}") for n, part in enumerate(plan["parts"], 1)
    }
    overhead_in = costs["calibration"][plan["noop_probe"]] / plan["calibration_calls"]
    outer = costs["calibration"][plan["calibration_probe"]]
    overhead_out = (outer - costs["calibration"][plan["noop_probe"]]) / plan["calibration_calls"]
    results: dict[str, Any] = {
        "requests": args.requests,
        "database": "postgresql" if args.pg_url else "sqlite",
        "probe_overhead": {"inside": round(overhead_in), "call": round(overhead_out)},
        "kinds": {},
    }
    for kind in KINDS:
        results["kinds"][kind] = _layers(
            plan["kinds"][kind], costs[kind], args.requests, overhead_in, overhead_out
        )
    return results


def _service_env(args: argparse.Namespace, work: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_", "PROMETHEUS_")) and key != "DATABASE_URL"
    }
    database_url = f"sqlite:///{work / 'layers.sqlite3'}"
    if args.pg_url:
        database_url = f"{args.pg_url.rstrip('/')}/{args.db}"
    metrics_dir = work / "metrics"
    metrics_dir.mkdir()
    env.update(
        DJANGO_SETTINGS_MODULE="orderservice.settings",
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="INFO",  # the request log is part of what is measured
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),  # as under the app server
        PYTHONHASHSEED="0",
    )
    if args.pg_url:
        env["BENCH_LAYERS_SERVER"] = args.pg_url
    return env


_COST_LINE = re.compile(r"^\s*([\d,]+)\s.*\b(probe_\d+)\b")


def _probe_costs(path: Path) -> dict[str, int]:
    """Inclusive instructions of each probe in one callgrind dump."""
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    costs: dict[str, int] = {}
    for line in out.splitlines():
        match = _COST_LINE.match(line)
        if match:
            costs[match.group(2)] = costs.get(match.group(2), 0) + int(
                match.group(1).replace(",", "")
            )
    return costs


def _layers(
    probes: list[dict[str, Any]],
    costs: dict[str, int],
    requests: int,
    overhead_in: float,
    overhead_out: float,
) -> list[dict[str, Any]]:
    """One row per layer, in call order: inclusive and self instructions per request."""
    own: dict[int, float] = {}
    for probe in probes:
        inner = [p for p in probes if p["parent"] == probe["id"]]
        own[probe["id"]] = (
            costs.get(probe["probe"], 0)
            - sum(costs.get(p["probe"], 0) for p in inner)
            - overhead_in * probe["calls"]
            - overhead_out * sum(p["calls"] for p in inner)
        )
    # Inclusive without the probes' overhead: a probe's own cost plus its inner probes'; an inner
    # probe is always handed out after its enclosing one, so walking backwards sees it first.
    inclusive = dict(own)
    for probe in reversed(probes):
        if probe["parent"] >= 0:
            inclusive[probe["parent"]] += inclusive[probe["id"]]
    rows: dict[str, dict[str, Any]] = {}
    for probe in probes:
        row = rows.setdefault(
            probe["label"],
            {"layer": probe["label"], "depth": probe["depth"], "inclusive": 0.0, "self": 0.0},
        )
        row["inclusive"] += inclusive[probe["id"]]
        row["self"] += own[probe["id"]]
    total = rows[REQUEST]["inclusive"]
    for row in rows.values():
        row["self_pct"] = round(100 * row["self"] / total, 1) if total else 0.0
        row["inclusive"] = round(row["inclusive"] / requests)
        row["self"] = round(row["self"] / requests)
    return list(rows.values())


def table(results: dict[str, Any]) -> str:
    over = results["probe_overhead"]
    lines = [
        f"Instructions per request by layer (callgrind; {results['requests']} requests of each"
        f" kind, {results['database']}; probe overhead {over['inside']} + {over['call']} per"
        " probe, taken off)"
    ]
    for kind, rows in results["kinds"].items():
        lines += ["", f"  {kind}", f"  {'layer':58} {'inclusive':>11} {'self':>11} {'self %':>7}"]
        for row in rows:
            name = "  " * row["depth"] + row["layer"]
            lines.append(
                f"  {name:58} {row['inclusive']:>11,} {row['self']:>11,} {row['self_pct']:>6.1f}%"
            )
    return "\n".join(lines)


# --- the children: prepare the database; serve requests under callgrind -------------------------

REQUEST = "request (WSGI call, response closed)"


def _prepare() -> int:
    server = os.environ.get("BENCH_LAYERS_SERVER")
    if server:
        import psycopg

        database = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
        with psycopg.connect(f"{server.rstrip('/')}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{database}"')
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("load_demo")  # prints the demo token, the last line
    return 0


class Probes:
    """Runs a callable inside the probe of (label, enclosing layer), and remembers the layout."""

    def __init__(self, library: Path) -> None:
        import importlib.util

        spec = importlib.util.spec_from_file_location("layers_probes", library)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load the probes from {library}")
        self.lib: Any = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.lib)
        self.stack: list[int] = []
        self.assigned: dict[tuple[str, int], dict[str, Any]] = {}
        self.free = iter(PROBES)
        self.active = False

    def run(self, label: str, call: Callable[[], Any]) -> Any:
        if not self.active:
            return call()
        parent = self.stack[-1] if self.stack else -1
        probe = self.assigned.get((label, parent))
        if probe is None:
            probe = {
                "id": len(self.assigned),
                "label": label,
                "parent": parent,
                "depth": len(self.stack),
                "probe": next(self.free),
                "calls": 0,
            }
            self.assigned[(label, parent)] = probe
        probe["calls"] += 1
        self.stack.append(probe["id"])
        try:
            return getattr(self.lib, probe["probe"])(call)
        finally:
            self.stack.pop()

    def take_layout(self) -> list[dict[str, Any]]:
        layout = sorted(self.assigned.values(), key=lambda p: p["id"])
        self.assigned = {}
        self.free = iter(PROBES)
        return layout


def _wrap(probes: Probes, owner: Any, name: str, label: str) -> None:
    original = getattr(owner, name)

    def probed(*args: Any, **kwargs: Any) -> Any:
        return probes.run(label, lambda: original(*args, **kwargs))

    setattr(owner, name, probed)


def _wrap_named(probes: Probes, target: str) -> None:
    """Probe `module:Name` or `module:Class.method` (a static or class method stays one)."""
    import importlib
    import inspect

    module_name, _, qualname = target.partition(":")
    *path, name = qualname.split(".")
    owner: Any = importlib.import_module(module_name)
    for part in path:
        owner = getattr(owner, part)
    static = inspect.getattr_static(owner, name)
    if isinstance(static, staticmethod | classmethod):
        function = static.__func__

        def probed(*args: Any, **kwargs: Any) -> Any:
            return probes.run(qualname, lambda: function(*args, **kwargs))

        setattr(owner, name, type(static)(probed))
        return
    _wrap(probes, owner, name, qualname)


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _instrument(probes: Probes) -> None:
    """Wrap each layer in a probe; before the WSGI application is built (the middleware)."""
    from django.core.handlers import base, wsgi
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper
    from django.db.models.sql.compiler import SQLCompiler
    from django.template.response import SimpleTemplateResponse
    from rest_framework.request import Request
    from rest_framework.views import APIView

    # Django's handler builds the middleware chain from the classes import_string gives it.
    real_import = vars(base)["import_string"]

    def probed_middleware(path: str) -> Any:
        cls = real_import(path)
        call = cls.__call__

        def __call__(self: Any, request: Any) -> Any:
            return probes.run(f"middleware {cls.__name__}", lambda: call(self, request))

        return type(cls.__name__, (cls,), {"__call__": __call__})

    setattr(base, "import_string", probed_middleware)  # noqa: B010  (not in django-stubs)
    _wrap(probes, wsgi.WSGIHandler, "__call__", "Django WSGIHandler (request, response)")
    _wrap(probes, base.BaseHandler, "_get_response", "Django URL resolve + view call")
    _wrap(probes, APIView, "dispatch", "DRF APIView.dispatch")
    _wrap(probes, APIView, "initialize_request", "DRF initialize_request")
    _wrap(probes, APIView, "perform_authentication", "DRF authentication")
    _wrap(probes, APIView, "check_permissions", "DRF permissions")
    _wrap(probes, APIView, "check_throttles", "DRF throttling")
    _wrap(probes, APIView, "perform_content_negotiation", "DRF content negotiation")
    _wrap(probes, APIView, "finalize_response", "DRF finalize_response")
    _wrap(probes, APIView, "handle_exception", "DRF handle_exception")
    _wrap(probes, Request, "_parse", "DRF parsing (request.data)")
    _wrap(probes, SimpleTemplateResponse, "render", "rendering (response.render)")
    _wrap(probes, SQLCompiler, "execute_sql", "Django ORM: compile, run, fetch a query")
    _wrap(probes, BaseDatabaseWrapper, "connect", "DB connect")
    _wrap(probes, logging.Logger, "handle", "logging: one record (format, write)")
    for view in _subclasses(APIView):
        for method in ("get", "post", "patch", "delete", "plain_answer"):
            if method in vars(view):
                _wrap(probes, view, method, f"view {view.__name__}.{method}")
    for name in ("execute", "executemany"):
        _wrap(probes, CursorWrapper, name, "DB statement (client side)")
    for name in ("commit", "rollback"):
        _wrap(probes, BaseDatabaseWrapper, name, "DB commit/rollback (client side)")
    # The plain requests' path instead of DRF's dispatch (orderservice/api/fastpath.py), in
    # the revisions that have one.
    try:
        from orderservice.api import fastpath
    except ImportError:
        return
    _wrap(probes, fastpath, "_plain", "fast path (plain request, no DRF dispatch)")
    _wrap(probes, fastpath, "_token_user", "fast path: token lookup")


_PATHS = {"floor": FLOOR_PATH, "place": "/orders"}
_placed: dict[str, str] = {}  # "order_id": the first order placed


def _environ(kind: str, token: str, n: int) -> dict[str, Any]:
    import io

    body = PLACE_BODY if kind == "place" else b""
    return {
        "REQUEST_METHOD": "POST" if kind == "place" else "GET",
        "PATH_INFO": _PATHS.get(kind) or f"/orders/{_placed['order_id']}",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Token {token}",
        "HTTP_ACCEPT": "application/json",
        "HTTP_X_REQUEST_ID": f"layers-{kind}-{n}",
        "CONTENT_TYPE": "application/json" if body else "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def _requests(
    probes: Probes, application: Any, kind: str, token: str, count: int
) -> Iterator[Callable[[], Any]]:
    expected = "200"
    for n in range(count):

        def one(n: int = n) -> None:
            statuses: list[str] = []
            result = application(
                _environ(kind, token, n), lambda status, headers, *_: statuses.append(status)
            )
            try:
                content = b"".join(result)
            finally:
                probes.run("response close (request_finished signal)", result.close)
            if not statuses[0].startswith(expected):
                raise RuntimeError(f"{kind}: {statuses[0]}, expected {expected}")
            if kind == "place" and "order_id" not in _placed:  # one warm-up's: not measured
                _placed["order_id"] = json.loads(content)["order_id"]

        yield one


def _measure(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (imports every view, for _instrument to wrap)
    probes = Probes(args.probes)
    _instrument(probes)
    for target in args.probe:
        _wrap_named(probes, target)
    from orderservice.wsgi import application

    for kind in KINDS:
        for one in _requests(probes, application, kind, args.token, args.warmup):
            one()
    layout: dict[str, Any] = {"parts": [], "kinds": {}}
    probes.lib.measure_start()
    probes.active = True
    for kind in KINDS:
        for one in _requests(probes, application, kind, args.token, args.requests):
            probes.run(REQUEST, one)
        probes.lib.measure_dump(kind)
        layout["parts"].append(kind)
        layout["kinds"][kind] = probes.take_layout()
    # The probes' own cost: a probe around nothing, and a probe around such probes.
    calls = 200

    def nested() -> None:
        for _ in range(calls):
            probes.run("noop", lambda: None)

    probes.run("calibration", nested)
    probes.lib.measure_dump("calibration")
    probes.lib.measure_stop()
    layout["parts"].append("calibration")
    cal = probes.take_layout()
    layout["calibration_probe"] = cal[0]["probe"]
    layout["noop_probe"] = cal[1]["probe"]
    layout["calibration_calls"] = calls
    args.layout.write_text(json.dumps(layout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
