"""The real service under an app server for tests, and helpers to drive it and check SPEC §7.

Use from a conftest: `from tests.live import live_server_factory, live_server_url  # noqa: F401`.

- `running_server(database_url, workers=4, server=..., ...)`: context manager; starts the app
  server (uWSGI through serve.py, as in production, or granian; default TEST_APP_SERVER, else
  uwsgi) on a free 127.0.0.1 port with production-like settings, waits until it answers, yields a
  `LiveServer` (its `url`, master `pid`, `worker_pids()`, `log_tail()`) and kills the whole
  process group. `TEST_APP_SERVER=granian make test-pg` runs the whole live suite under granian;
  `TEST_SERVER_THREADS=4` runs it with 4 request threads in each uWSGI worker.
- `live_server_factory` / `live_server_url`: pytest fixtures on `transactional_db`, so what the
  test creates is committed and visible to the server (PostgreSQL only: the server needs the
  test database by name, see `current_database_url`). `shared_live_server_url`: the same, but
  one server per test module (`module_live_server`), for tests that need no fresh server.
- `user_token`, `products_create`, `api_session`: test data and HTTP clients.
- `StockLedger`: invariants §7.1/§7.2 from the database, with the restocks the test saw succeed,
  and the stock ledger of §11 (every product's movements, every order's movements).
- `price_violations`: §10, every order's total the exact sum of its lines.
- `run_concurrently`: callables in threads started together, each closing its DB connection.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
import requests
from django.db import connection
from django.db.models import Sum

from orderservice.inventory import services as inventory_services
from orderservice.inventory.models import Product
from orderservice.orders.bodies import order_body
from orderservice.orders.models import Order, OrderItem
from orderservice.orders.selectors import order_ledger_mismatches, order_lines_priced
from orderservice.orders.status import OrderStatus
from orderservice.tokens.services import token_issue
from tests.factories import ledger_violations

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_SERVERS = ("uwsgi", "granian")
# The app server every live test runs on unless it names one: uWSGI as production runs it
# (serve.py); TEST_APP_SERVER=granian runs the live suite under granian.
DEFAULT_APP_SERVER = os.environ.get("TEST_APP_SERVER", "uwsgi")
# Threads per granian worker when a test names none. A granian worker takes every connection the
# kernel hands its socket and queues the requests for its Python threads: with one thread, one
# slow request (a row lock wait) holds up the others queued behind it in that worker, where a
# uWSGI worker would not have taken them (tests/faults/test_lock_timeout.py fails so).
GRANIAN_THREADS = int(os.environ.get("TEST_GRANIAN_THREADS", "4"))
# Threads per uWSGI worker when a test names none: above 1, the live suite runs with several
# request threads per process, each holding its own database connection.
SERVER_THREADS = int(os.environ.get("TEST_SERVER_THREADS", "1"))
# Server logs (read them when a test fails); files older than LOG_KEEP_SECONDS are pruned.
LOG_DIR = Path(tempfile.gettempdir()) / "orderservice-live"
LOG_KEEP_SECONDS = 3600


# --- the server -------------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    pid: int  # the master (uWSGI's master, granian's main process); also the process group
    log_path: Path
    server: str  # "uwsgi" or "granian"
    process: subprocess.Popen[bytes] = field(repr=False)

    def worker_pids(self) -> list[int]:
        """The master's current child processes (its workers), from /proc."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        """Stop the server now (it is stopped at the end of its block anyway)."""
        _stop(self.process)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def current_database_url() -> str:
    """A DATABASE_URL naming the database this test process is connected to (the test DB)."""
    conf = connection.settings_dict
    if connection.vendor != "postgresql":
        raise RuntimeError("a live server needs PostgreSQL: it cannot share an SQLite test DB")
    user = quote(conf.get("USER") or "", safe="")
    password = conf.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host = conf.get("HOST") or "127.0.0.1"
    port = conf.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{quote(conf['NAME'], safe='')}"


def _server_env(database_url: str, overrides: Mapping[str, str] | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_", "DATABASE_URL"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "orderservice.settings",
            "DATABASE_URL": database_url,
            "DEBUG": "0",
            "SECRET_KEY": "live-test-secret-key-not-for-production-0123456789abcdefghijkl",
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(overrides or {})
    return env


@contextlib.contextmanager
def running_server(
    database_url: str,
    *,
    workers: int = 4,
    threads: int | None = None,
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 30.0,
    request_timeout: int = 30,
    server: str | None = None,
) -> Iterator[LiveServer]:
    """Run the service under `server` (uwsgi or granian; default DEFAULT_APP_SERVER) until
    the block ends; yield it once every worker answers HTTP.

    uwsgi: serve.py with `workers`, `threads` (default SERVER_THREADS) and `request_timeout`
    through its environment, as production sets them. granian: `threads` blocking threads per
    worker (default GRANIAN_THREADS), and no request timeout (granian has none; the app bounds its
    own database waits). The server runs in its own session; at the end the whole process group
    gets SIGTERM, then SIGKILL, whatever happened in the block.
    """
    server = server or DEFAULT_APP_SERVER
    if server not in APP_SERVERS:
        raise ValueError(f"unknown app server {server!r}: one of {APP_SERVERS}")
    with contextlib.ExitStack() as stack:
        # The server binds the port itself with SO_REUSEPORT (uWSGI's master; each granian
        # worker). A socket bound here with SO_REUSEPORT, not listening (so it gets no
        # connections), holds a free port until the server listens: no other program can take
        # the port meanwhile.
        listener = stack.enter_context(_reserved_port())
        port = listener.getsockname()[1]
        server_env = _server_env(database_url, env)
        _own_metrics_dir(stack, server_env)
        if server == "uwsgi":
            command = [sys.executable, str(REPO_ROOT / "serve.py"), "--reuse-port"]
            server_env.update(
                {
                    "BIND": f"127.0.0.1:{port}",
                    "WEB_CONCURRENCY": str(workers),
                    "SERVER_THREADS": str(threads or SERVER_THREADS),
                    "REQUEST_TIMEOUT": str(request_timeout),
                    "GRACEFUL_TIMEOUT": "3",
                }
            )
        else:
            command = _granian_command(port, workers, threads or GRANIAN_THREADS)
        _prune_old_logs()
        log_file = stack.enter_context(
            tempfile.NamedTemporaryFile(
                prefix=f"{server}-{port}-", suffix=".log", dir=LOG_DIR, delete=False
            )
        )
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=server_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        stack.callback(_stop, process)  # runs before the log file closes
        live = LiveServer(
            url=f"http://127.0.0.1:{port}",
            pid=process.pid,
            log_path=Path(log_file.name),
            server=server,
            process=process,
        )
        _wait_until_answering(live, ready_timeout, workers=workers)
        listener.close()  # uWSGI's master and granian's workers listen now
        yield live


def _own_metrics_dir(stack: contextlib.ExitStack, server_env: dict[str, str]) -> None:
    # One folder of Prometheus files per server, removed when it stops (serve.py would make a
    # temporary one and leave it).
    if "PROMETHEUS_MULTIPROC_DIR" not in server_env:
        metrics_dir = tempfile.mkdtemp(prefix="orderservice-live-metrics-")
        stack.callback(shutil.rmtree, metrics_dir, ignore_errors=True)
        server_env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir


def _granian_command(port: int, workers: int, threads: int) -> list[str]:
    return [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--no-ws",
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers),
        "--blocking-threads", str(threads),
        # A worker that dies (SIGKILL, OOM) is replaced, as uWSGI's master does.
        "--respawn-failed-workers",
        # SIGTERM: requests in flight get this long, then the workers are killed.
        "--workers-kill-timeout", "3",
        "--log-level", "warning",
        "orderservice.wsgi:application",
    ]  # fmt: skip


@contextlib.contextmanager
def _reserved_port() -> Iterator[socket.socket]:
    """A socket bound to a free 127.0.0.1 port with SO_REUSEPORT, not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", 0))
        yield sock


def listening_sockets(port: int) -> int:
    """How many sockets listen on 127.0.0.1:`port` (/proc/net/tcp): one per granian worker."""
    count = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def _prune_old_logs() -> None:
    LOG_DIR.mkdir(exist_ok=True)
    cutoff = time.time() - LOG_KEEP_SECONDS
    for path in LOG_DIR.glob("*.log"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def _wait_until_answering(server: LiveServer, timeout: float, *, workers: int) -> None:
    deadline = time.monotonic() + timeout
    port = int(server.url.rsplit(":", 1)[1])
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.server} exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        # uWSGI's workers share one listening socket: a connection waits there for the
        # first free worker. Each granian worker listens on its own socket once its app is
        # loaded, and the kernel spreads connections over the sockets listening: until all
        # are, the workers up take all the traffic.
        if server.server == "granian" and listening_sockets(port) < workers:
            time.sleep(0.1)
            continue
        try:
            # Any HTTP answer will do (401 here): the app is imported and a worker is serving.
            requests.get(f"{server.url}/products", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{server.server} did not answer within {timeout}s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    pgid = process.pid  # start_new_session: the master leads its own process group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    try:
        process.wait(timeout=8)
    except subprocess.TimeoutExpired:
        pass
    # Whatever is left of the group (a stuck master, orphaned workers) dies now.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def live_server_factory(transactional_db: None) -> Iterator[Callable[..., LiveServer]]:
    """start(workers=4, threads=None, env=None, database_url=None, server=None) -> server.

    Every server started is stopped at teardown, before the test database is flushed.
    """
    with contextlib.ExitStack() as stack:

        def start(*, database_url: str | None = None, **kwargs: Any) -> LiveServer:
            url = database_url or current_database_url()
            return stack.enter_context(running_server(url, **kwargs))

        yield start


@pytest.fixture
def live_server_url(live_server_factory: Callable[..., LiveServer]) -> str:
    """Base URL of the service (4 workers), on the test database."""
    return live_server_factory(workers=4).url


@pytest.fixture(scope="module")
def module_live_server(django_db_setup: None) -> Iterator[LiveServer]:
    """One server (4 workers) for a whole test module: starting one costs seconds.

    Use through `shared_live_server_url`, which adds `transactional_db` for each test. Between
    tests the database is flushed under the running server; its idle connections hold no locks.
    """
    with running_server(current_database_url(), workers=4) as server:
        yield server


@pytest.fixture
def shared_live_server_url(transactional_db: None, module_live_server: LiveServer) -> str:
    """Base URL of the module's server; the test's data is committed, so the server sees it."""
    return module_live_server.url


# --- data and clients -------------------------------------------------------------------------


def user_token(username: str, *, staff: bool = False) -> str:
    """A new API token for `username` (created if missing)."""
    return token_issue(username=username, staff=staff)


def products_create(stock: Mapping[str, int], prices: Mapping[str, Decimal] | None = None) -> None:
    """Create each product with its initial stock (and price, 0.00 when not given), through
    the inventory service."""
    for product_id, count in stock.items():
        inventory_services.product_create(
            product_id=product_id,
            name=f"Product {product_id}",
            product_count=count,
            price=(prices or {}).get(product_id),
        )


def api_session(token: str) -> requests.Session:
    """A requests.Session that authenticates with `token` and sends JSON. One per thread."""
    session = requests.Session()
    session.headers.update({"Authorization": f"Token {token}", "Accept": "application/json"})
    return session


# --- invariants -------------------------------------------------------------------------------


def held_by_orders(*, product_ids: Iterable[str] | None = None) -> dict[str, int]:
    """Units held by non-cancelled orders, by product (all products, or those named)."""
    items = OrderItem.objects.exclude(order__status=OrderStatus.CANCELLED)
    if product_ids is not None:
        items = items.filter(product_id__in=list(product_ids))
    rows = items.values("product_id").annotate(held=Sum("item_count"))
    return {row["product_id"]: row["held"] for row in rows}


def stock_violations(expected_totals: Mapping[str, int]) -> list[str]:
    """SPEC §7.1, §7.2 and the §11 ledger against the database: what is wrong, or [] when all
    hold.

    `expected_totals` is each product's initial stock plus every successful restock. The ledger:
    every product's movements run to its stock, every order's movements take what it holds.
    """
    stock = dict(Product.objects.values_list("product_id", "product_count"))
    held = held_by_orders()
    problems = []
    for product_id in sorted(set(stock) | set(expected_totals) | set(held)):
        count = stock.get(product_id)
        if count is None:
            problems.append(f"{product_id}: product missing from the database")
            continue
        if count < 0:
            problems.append(f"{product_id}: product_count {count} < 0 (§7.1)")
        expected = expected_totals.get(product_id)
        if expected is None:
            problems.append(f"{product_id}: not tracked by the test")
            continue
        in_orders = held.get(product_id, 0)
        if count + in_orders != expected:
            problems.append(
                f"{product_id}: product_count {count} + held by orders {in_orders} "
                f"= {count + in_orders}, expected {expected} (§7.2)"
            )
    problems.extend(f"§11 ledger: {problem}" for problem in ledger_violations())
    problems.extend(
        f"§11 order ledger: {m.order_id} {m.product_id} holds {m.held}, movements take {m.taken}"
        for m in order_ledger_mismatches()
    )
    return problems


def price_violations() -> list[str]:
    """SPEC §10 against the database: each order whose body's line totals are not unit_price x
    item_count, or whose total is not the exact sum of its line totals; [] when all hold."""
    problems = []
    for order in Order.objects.prefetch_related("items").order_by("id"):
        body = order_body(order, *order_lines_priced(order))
        total = Decimal(0)
        for line in body["products"]:
            expected = Decimal(line["unit_price"]) * line["item_count"]
            if Decimal(line["line_total"]) != expected:
                problems.append(f"{order.id} {line['product_id']}: line_total {line['line_total']}")
            total += Decimal(line["line_total"])
        if Decimal(body["total"]) != total:
            problems.append(f"{order.id}: total {body['total']}, its lines add up to {total}")
    return problems


class StockLedger:
    """What each product's total should be: initial stock plus the restocks that succeeded.

    Thread-safe; call `restocked` only for a restock the service confirmed (HTTP 200).
    """

    def __init__(self, initial: Mapping[str, int]) -> None:
        self._lock = threading.Lock()
        self.totals: dict[str, int] = dict(initial)

    def restocked(self, product_id: str, amount: int) -> None:
        with self._lock:
            self.totals[product_id] += amount

    def violations(self) -> list[str]:
        with self._lock:
            totals = dict(self.totals)
        return stock_violations(totals)

    def assert_holds(self) -> None:
        problems = self.violations()
        assert not problems, "stock invariant violated:\n" + "\n".join(problems)


def raw_connection() -> psycopg.Connection:
    """A psycopg connection of its own to the test database, outside Django (not autocommit):
    to hold a row lock, or watch pg_stat_activity, while the service works."""
    conf = connection.settings_dict
    return psycopg.connect(
        host=conf["HOST"] or "127.0.0.1",
        port=conf["PORT"] or 5432,
        user=conf["USER"] or None,
        password=conf["PASSWORD"] or None,
        dbname=conf["NAME"],
        connect_timeout=5,
    )


def deadlocks_detected(*, settle_timeout: float = 10.0) -> int:
    """PostgreSQL's count of deadlocks detected in the current database so far.

    Sessions report their counters when they end, so this first waits (bounded) until no other
    session is connected to the database: stop live servers and close thread connections first.
    """
    deadline = time.monotonic() + settle_timeout
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            (others,) = cursor.fetchone() or (0,)
            if not others or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        (count,) = cursor.fetchone() or (0,)
    return int(count)


# --- threads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    value: Any = None
    error: BaseException | None = None


def run_concurrently(calls: Sequence[Callable[[], Any]], *, timeout: float = 60.0) -> list[Outcome]:
    """Run each callable in its own thread, released together by a barrier; collect outcomes.

    Each thread closes its own database connection when done (django-oscar's run_concurrently),
    so the test database can be flushed afterwards. Raises if a thread outlives `timeout`.
    """
    barrier = threading.Barrier(len(calls))
    outcomes: list[Outcome] = [Outcome() for _ in calls]

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=timeout)
            outcomes[index] = Outcome(value=call())
        except BaseException as exc:  # reported to the test, not swallowed
            outcomes[index] = Outcome(error=exc)
        finally:
            connection.close()

    workers = [
        threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)
    ]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + timeout
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    stuck = sum(worker.is_alive() for worker in workers)
    if stuck:
        raise TimeoutError(f"{stuck} of {len(workers)} threads still running after {timeout}s")
    return outcomes
