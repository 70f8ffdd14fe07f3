"""The production stack on one machine: nginx, N uWSGI app servers (serve.py), PgBouncer, Redis,
under its own supervisord, on loopback ports (`make stack`, `make stack-down`; docs/production.md).

    python deploy/stack.py up         render the configs into the state folder, start, wait
    python deploy/stack.py down       stop what `up` started (supervisord and its programs)
    python deploy/stack.py status     supervisorctl status
    python deploy/stack.py manage ARGS...   manage.py with the app servers' environment
    python deploy/stack.py app --bind HOST:PORT   (supervisord's command for an app server)
    python deploy/stack.py webhooks   (supervisord's command for the webhook worker)

Settings come from the environment: STACK_STATE_DIR (.stack), STACK_PORT (8080, nginx),
STACK_APPS (2 app servers), STACK_APP_PORT (8101: the first app server; the others follow),
STACK_WORKERS (2 worker processes per app server), STACK_PGBOUNCER_PORT (6433), STACK_POOL_SIZE
(10 server connections), STACK_REDIS_PORT (6380, used only when the stack starts its own Redis),
DATABASE_URL (PostgreSQL; default postgres://postgres@127.0.0.1:5432/orderservice), REDIS_URL
(default redis://127.0.0.1:6379/0), SECRET_KEY and WEBHOOK_SECRET_KEYS (each generated once into
the state folder if unset), ERROR_DOCS_BASE_URL; every other app setting (DB_*, THROTTLE_*,
LOG_LEVEL, ...) passes through.
"""

import argparse
import base64
import contextlib
import json
import math
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

REPO_DIR = Path(__file__).resolve().parent.parent
DEPLOY_DIR = REPO_DIR / "deploy"
PYTHON = Path(sys.executable)
DEFAULT_STATE = REPO_DIR / ".stack"
HOST = "127.0.0.1"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/orderservice"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Debian puts nginx and pgbouncer in /usr/sbin, which a non-root PATH may lack.
TOOL_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
TOOLS = ("nginx", "pgbouncer", "supervisord", "supervisorctl")
READY_TIMEOUT_SECONDS = 90.0
# An app server that refused or failed a request gets none for this long (nginx's fail_timeout).
UPSTREAM_FAIL_TIMEOUT_SECONDS = 2
STOP_TIMEOUT_SECONDS = 90.0
# The environment of the caller that the app servers must not inherit: the stack sets these.
NOT_INHERITED = {"BIND", "HOST", "PORT", "DJANGO_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR"}


def say(text: str = "") -> None:
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


# --- what nginx answers by itself ------------------------------------------------------------


@dataclass(frozen=True)
class ProxyError:
    status: int
    slug: str  # the anchor in the served error docs (/docs/errors#slug)
    message: str
    retry_after: bool = False


# The §1 strings where the app answers the same status (400, 404, 413, 500, 503); the others
# are nginx's alone. docs/production.md lists them.
PROXY_ERRORS: tuple[ProxyError, ...] = (
    ProxyError(
        400,
        "invalid-request",
        "Invalid request. Please review your request and ensure everything is correct.",
    ),
    ProxyError(404, "not-found", "Not found."),
    ProxyError(408, "request-timeout", "Request timeout. Send the whole request without pausing."),
    ProxyError(413, "request-too-large", "Request body too large."),
    ProxyError(414, "uri-too-long", "Request URI too long."),
    ProxyError(431, "headers-too-large", "Request header fields too large."),
    ProxyError(500, "internal-error", "Internal server error."),
    ProxyError(501, "not-implemented", "Not implemented. Send the body with Content-Length."),
    ProxyError(
        502, "bad-gateway", "Bad gateway: no app server answered. Please retry later.", True
    ),
    ProxyError(
        503, "inventory-unavailable", "Inventory service unavailable. Please retry later.", True
    ),
    ProxyError(
        504,
        "gateway-timeout",
        "Gateway timeout: the app server did not answer in time. Please retry later.",
        True,
    ),
)  # fmt: skip


def error_body(error: ProxyError, docs_base_url: str) -> str:
    return json.dumps(
        {"error": error.message, "documentation": f"{docs_base_url}#{error.slug}"},
        separators=(",", ":"),
    )


def error_locations(docs_base_url: str) -> str:
    """nginx locations answering each error page: its status, a §1 JSON body, no file read."""
    blocks = []
    for error in PROXY_ERRORS:
        body = error_body(error, docs_base_url)
        if "'" in body or "\\" in body or "$" in body:
            raise ValueError(f"cannot quote for nginx: {body}")
        retry = "            add_header Retry-After 1 always;\n" if error.retry_after else ""
        blocks.append(
            f"        location = /_errors/{error.status}.json {{\n"
            "            internal;\n"
            "            default_type application/json;\n"
            f"{retry}"
            f"            return {error.status} '{body}';\n"
            "        }"
        )
    return "\n".join(blocks)


# --- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StackConfig:
    state_dir: str
    port: int
    apps: int
    app_port: int
    workers: int
    pgbouncer_port: int
    pool_size: int
    redis_port: int
    database_url: str  # PostgreSQL itself: migrations, and PgBouncer's server side

    @property
    def app_ports(self) -> list[int]:
        return [self.app_port + index for index in range(self.apps)]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def state(self) -> Path:
        return Path(self.state_dir)


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "").strip()
    return int(value) if value else default


def config_from_env(env: Mapping[str, str], state_dir: Path | None = None) -> StackConfig:
    database_url = env.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        database_url = DEFAULT_DATABASE_URL
    config = StackConfig(
        state_dir=str((state_dir or Path(env.get("STACK_STATE_DIR") or DEFAULT_STATE)).resolve()),
        port=_env_int(env, "STACK_PORT", 8080),
        apps=_env_int(env, "STACK_APPS", 2),
        app_port=_env_int(env, "STACK_APP_PORT", 8101),
        workers=_env_int(env, "STACK_WORKERS", 2),
        pgbouncer_port=_env_int(env, "STACK_PGBOUNCER_PORT", 6433),
        pool_size=_env_int(env, "STACK_POOL_SIZE", 10),
        redis_port=_env_int(env, "STACK_REDIS_PORT", 6380),
        database_url=database_url,
    )
    if config.apps < 1 or config.workers < 1:
        raise SystemExit("STACK_APPS and STACK_WORKERS must be at least 1.")
    return config


@dataclass(frozen=True)
class Database:
    host: str
    port: int
    name: str
    user: str
    password: str

    @classmethod
    def from_url(cls, url: str) -> "Database":
        parts = urlsplit(url)
        return cls(
            host=parts.hostname or HOST,
            port=parts.port or 5432,
            name=unquote(parts.path.lstrip("/")) or "postgres",
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
        )


def pgbouncer_url(config: StackConfig) -> str:
    """DATABASE_URL for the app servers: the same user and database, through PgBouncer."""
    parts = urlsplit(config.database_url)
    netloc = f"{parts.netloc.rpartition('@')[0]}@" if "@" in parts.netloc else ""
    return urlunsplit(
        ("postgres", f"{netloc}{HOST}:{config.pgbouncer_port}", parts.path, parts.query, "")
    )


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


# --- the state folder --------------------------------------------------------------------------


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    # Created with its mode: a secret is never readable by others, even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)
    with os.fdopen(fd, "w") as file:
        file.write(text)


def _save_config(config: StackConfig) -> None:
    _write(config.state / "stack.json", json.dumps(asdict(config), indent=2) + "\n")


def load_config(state_dir: Path) -> StackConfig:
    path = state_dir / "stack.json"
    try:
        return StackConfig(**json.loads(path.read_text()))
    except FileNotFoundError:
        raise SystemExit(
            f"No stack in {state_dir} ({path.name} missing): run `up` first."
        ) from None


def secret_key(state: Path, env: Mapping[str, str]) -> str:
    """SECRET_KEY from the environment, else the one generated into the state folder once."""
    if env.get("SECRET_KEY"):
        return env["SECRET_KEY"]
    path = state / "secret_key"
    if not path.exists():
        _write(path, secrets.token_urlsafe(50) + "\n", 0o600)
    return path.read_text().strip()


def webhook_secret_keys(state: Path, env: Mapping[str, str]) -> str:
    """WEBHOOK_SECRET_KEYS from the environment, else a Fernet key generated into the state once."""
    if env.get("WEBHOOK_SECRET_KEYS"):
        return env["WEBHOOK_SECRET_KEYS"]
    path = state / "webhook_secret_keys"
    if not path.exists():
        key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()  # a Fernet key
        _write(path, key + "\n", 0o600)
    return path.read_text().strip()


def app_environment(config: StackConfig, env: Mapping[str, str], redis_url: str) -> dict[str, str]:
    """What every app process runs with: the caller's settings, and what the stack decides."""
    inherited = {
        key: value
        for key, value in env.items()
        if key not in NOT_INHERITED and not key.startswith(("STACK_", "PYTEST_", "MAKE", "MFLAGS"))
    }
    hosts = ["127.0.0.1", "localhost"] + [
        host.strip() for host in env.get("ALLOWED_HOSTS", "").split(",") if host.strip()
    ]
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "orderservice.settings",
        "DATABASE_URL": pgbouncer_url(config),
        # Transaction pooling: no session state, no `options` (connect_query sets the settings).
        "DB_POOLER": "pgbouncer",
        "REDIS_URL": redis_url,
        "SECRET_KEY": secret_key(config.state, env),
        "WEBHOOK_SECRET_KEYS": webhook_secret_keys(config.state, env),
        # The webhook worker LISTENs, which needs a session of its own: it goes to PostgreSQL
        # itself, not through the transaction pooler (exec_webhooks).
        "STACK_DIRECT_DATABASE_URL": config.database_url,
        "DEBUG": "0",
        "ALLOWED_HOSTS": ",".join(dict.fromkeys(hosts)),
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback
        "ERROR_DOCS_BASE_URL": docs_base_url(config, env),
        "WEB_CONCURRENCY": str(config.workers),
        # nginx is the only peer whose X-Forwarded-* headers count (client address, scheme), and
        # links (`next`, `documentation`) carry the public address, never the client's Host.
        "TRUSTED_PROXIES": HOST,
        "PUBLIC_BASE_URL": config.url,
    }


def docs_base_url(config: StackConfig, env: Mapping[str, str]) -> str:
    # The app and nginx link the same error docs, whatever Host the client sent.
    return env.get("ERROR_DOCS_BASE_URL") or f"{config.url}/docs/errors"


def _load_app_environment(state: Path) -> dict[str, str]:
    env: dict[str, str] = json.loads((state / "app-env.json").read_text())
    return env


@dataclass(frozen=True)
class AppSettings:
    """What the proxy and the pooler must agree on with the app, read from its own settings."""

    server_options: str  # the app's session settings (`-c name=value`), for connect_query
    max_body_bytes: int
    retry_budget_seconds: float
    connect_timeout_seconds: float
    server_timeout: int
    server_graceful_timeout: int


_READ_SETTINGS = """
import json, os, runpy
from orderservice import settings
serve = runpy.run_path("serve.py")
print(json.dumps({
    "server_options": settings.DB_SESSION_OPTIONS,
    "max_body_bytes": settings.MAX_REQUEST_BODY_BYTES,
    "retry_budget_seconds": settings.DB_RETRY_BUDGET_SECONDS,
    "connect_timeout_seconds": settings.DB_CONNECT_TIMEOUT_SECONDS,
    "server_timeout": serve["request_timeout"](os.environ),
    "server_graceful_timeout": serve["graceful_timeout"](os.environ),
}))
"""


def read_app_settings(app_env: Mapping[str, str], state: Path) -> AppSettings:
    # In a child process: the settings module reads the app servers' environment at import.
    env = {**app_env, "PROMETHEUS_MULTIPROC_DIR": str(state / "metrics" / "settings")}
    result = subprocess.run(
        [str(PYTHON), "-c", _READ_SETTINGS],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return AppSettings(**json.loads(result.stdout))


def connect_query(server_options: str) -> str:
    """`-c statement_timeout=5000 -c lock_timeout=2000` as the SET statements doing the same."""
    words = shlex.split(server_options)
    settings = [value for flag, value in zip(words, words[1:], strict=False) if flag == "-c"]
    statements = []
    for setting in settings:
        name, _, value = setting.partition("=")
        if not re.fullmatch(r"[a-z_]+", name) or not re.fullmatch(r"[0-9A-Za-z_.]+", value):
            raise ValueError(f"unexpected server option: {setting!r}")
        statements.append(f"SET {name} = {value}")
    return "; ".join(statements)


# --- rendering ---------------------------------------------------------------------------------


def render(template: str, values: Mapping[str, object]) -> str:
    """Fill each `{{ NAME }}`; a name without a value is an error, not an empty string."""

    def value(match: re.Match[str]) -> str:
        return str(values[match.group(1)])

    return re.sub(r"\{\{ ([A-Z_]+) \}\}", value, template)


def _is_root() -> bool:
    return os.geteuid() == 0


def nginx_conf(config: StackConfig, app: AppSettings, docs_base: str) -> str:
    servers = "\n".join(
        f"        server {HOST}:{port} max_fails=1 fail_timeout={UPSTREAM_FAIL_TIMEOUT_SECONDS}s;"
        for port in config.app_ports
    )
    # As root, the master binds and reads; its workers run as an unprivileged user.
    user = "user www-data www-data;" if _is_root() else "# (not root: workers run as this user)"
    return render(
        (DEPLOY_DIR / "nginx.conf.in").read_text(),
        {
            "USER_LINE": user,
            "STATE_DIR": config.state_dir,
            "LISTEN": f"{HOST}:{config.port}",
            "MAX_BODY_BYTES": app.max_body_bytes,
            "UPSTREAM_SERVERS": servers,
            "PROXY_READ_TIMEOUT": app.server_timeout + 5,
            "APP_COUNT": config.apps,
            "ERROR_LOCATIONS": error_locations(docs_base),
        },
    )


def _pgbouncer_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def pgbouncer_conf(config: StackConfig, app: AppSettings) -> str:
    db = Database.from_url(config.database_url)
    fields = {"host": db.host, "port": str(db.port), "dbname": db.name, "user": db.user}
    if db.password:
        fields["password"] = db.password
    fields["connect_query"] = connect_query(app.server_options)
    line = " ".join(f"{key}={_pgbouncer_quote(value)}" for key, value in fields.items())
    # PgBouncer refuses to run as root; it switches to this user after binding.
    user = "user = postgres" if _is_root() else ""
    return render(
        (DEPLOY_DIR / "pgbouncer.ini.in").read_text(),
        {
            "DATABASE_LINE": f"{db.name} = {line}",
            "PORT": config.pgbouncer_port,
            "USER_LINE": user,
            # Loopback clients with the server's own user; a password when the URL has one.
            "AUTH_TYPE": "scram-sha-256" if db.password else "trust",
            "STATE_DIR": config.state_dir,
            "MAX_CLIENT_CONN": max(100, 2 * config.apps * config.workers + 20),
            "POOL_SIZE": config.pool_size,
            "QUERY_WAIT_TIMEOUT": math.ceil(app.retry_budget_seconds),
            "CONNECT_TIMEOUT": max(1, math.ceil(app.connect_timeout_seconds)),
        },
    )


def pgbouncer_users(config: StackConfig) -> str:
    db = Database.from_url(config.database_url)
    user, password = (value.replace('"', '""') for value in (db.user, db.password))
    return f'"{user}" "{password}"\n'


def supervisord_conf(
    config: StackConfig, app: AppSettings, tools: Mapping[str, str], redis_program: str
) -> str:
    stack = f"{PYTHON} {DEPLOY_DIR / 'stack.py'} --state-dir {config.state_dir}"
    apps = []
    for port in config.app_ports:
        apps.append(
            f"[program:app-{port}]\n"
            f"command = {stack} app --bind {HOST}:{port}\n"
            "priority = 20\n"
            "autorestart = true\n"
            "startsecs = 2\n"
            "; SIGTERM: the server stops accepting and lets requests in flight finish.\n"
            "stopsignal = TERM\n"
            f"stopwaitsecs = {app.server_graceful_timeout + 5}\n"
            "stopasgroup = true\n"
            "killasgroup = true\n"
            "redirect_stderr = true\n"
            f"stdout_logfile = {config.state_dir}/logs/app-{port}.log\n"
        )
    return render(
        (DEPLOY_DIR / "supervisord.conf.in").read_text(),
        {
            "STATE_DIR": config.state_dir,
            "REPO_DIR": REPO_DIR,
            "PYTHON": PYTHON,
            "PGBOUNCER": tools["pgbouncer"],
            "NGINX": tools["nginx"],
            "REDIS_PROGRAM": redis_program,
            "APP_PROGRAMS": "\n".join(apps),
            "APP_NAMES": ",".join(f"app-{port}" for port in config.app_ports),
        },
    )


def redis_program(config: StackConfig, redis_server: str) -> str:
    return (
        "\n; No Redis answered when the stack started: this one serves the rate limits only,\n"
        "; in memory (nothing saved to disk).\n"
        "[program:redis]\n"
        f"command = {redis_server} --bind {HOST} --port {config.redis_port} --save '' "
        f"--appendonly no --daemonize no --dir {config.state_dir}/redis\n"
        "priority = 10\n"
        "autorestart = true\n"
        "startsecs = 1\n"
        "stopwaitsecs = 10\n"
        "redirect_stderr = true\n"
        f"stdout_logfile = {config.state_dir}/logs/redis.log\n"
    )


# --- checks ------------------------------------------------------------------------------------


def find_tools() -> dict[str, str]:
    found = {name: shutil.which(name, path=TOOL_PATH) for name in TOOLS}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise SystemExit(
            f"Not installed: {', '.join(missing)}. `make stack` installs them "
            "(apt-get install nginx pgbouncer supervisor)."
        )
    return {name: path for name, path in found.items() if path is not None}


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def redis_answers(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def choose_redis(env: Mapping[str, str], config: StackConfig) -> tuple[str, bool]:
    """(REDIS_URL for the apps, whether the stack must start it): one already answering is used."""
    url = env.get("REDIS_URL") or DEFAULT_REDIS_URL
    if redis_answers(url):
        return url, False
    return f"redis://{HOST}:{config.redis_port}/0", True


def ensure_database(config: StackConfig) -> None:
    """Create the database DATABASE_URL names when the server lacks it."""
    import psycopg
    from psycopg import sql

    db = Database.from_url(config.database_url)
    with psycopg.connect(
        host=db.host,
        port=db.port,
        user=db.user,
        password=db.password or None,
        dbname="postgres",
        connect_timeout=5,
        autocommit=True,
    ) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (db.name,)
        ).fetchone()
        if not exists:
            say(f"Creating database {db.name}")
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db.name)))


def manage(args: Sequence[str], env: Mapping[str, str]) -> None:
    result = subprocess.run(
        [str(PYTHON), "manage.py", *args], cwd=REPO_DIR, env=dict(env), check=False, timeout=600
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed (exit {result.returncode}).")


def _http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, OSError):
        return None


# --- supervisord -------------------------------------------------------------------------------


def supervisord_pid(state: Path) -> int | None:
    """The pid of this state folder's running supervisord, or None."""
    try:
        pid = int((state / "supervisord.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    conf = str(state / "supervisord.conf").encode()
    if any(part.endswith(b"supervisord") for part in cmdline[:2]) and conf in cmdline:
        return pid
    return None


def process_tree(root: int) -> dict[int, int]:
    """The pids under `root` (and root itself), each with its start time to recognise it later."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rpartition(")")[2].split()
            pid = int(stat.parent.name)
            children.setdefault(int(fields[1]), []).append(pid)
            starts[pid] = int(fields[19])
    tree: dict[int, int] = {}
    pending = [root]
    while pending:
        pid = pending.pop()
        if pid in starts and pid not in tree:
            tree[pid] = starts[pid]
            pending.extend(children.get(pid, []))
    return tree


def alive(pid: int, start: int) -> bool:
    """True while the process `pid` that started at `start` runs (not a zombie, not reused)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return False
    return fields[0] != "Z" and int(fields[19]) == start


def supervisorctl(config: StackConfig, *args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("supervisorctl", path=TOOL_PATH) or "supervisorctl"
    return subprocess.run(
        [tool, "-c", str(config.state / "supervisord.conf"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _log_tails(config: StackConfig, chars: int = 2000) -> str:
    tails = []
    for log in sorted((config.state / "logs").glob("*.log")):
        with contextlib.suppress(OSError):
            text = log.read_text(errors="replace")[-chars:]
            if text.strip():
                tails.append(f"--- {log.name}\n{text}")
    return "\n".join(tails)


def wait_ready(config: StackConfig, pid: int, timeout: float) -> bool:
    """Until every app server answers GET /readyz, then nginx does: through an app server,
    PgBouncer and PostgreSQL. False if supervisord dies or the time runs out."""
    deadline = time.monotonic() + timeout
    urls = [f"http://{HOST}:{port}/readyz" for port in config.app_ports] + [f"{config.url}/readyz"]
    for url in urls:
        while _http_status(url) != 200:
            if supervisord_pid(config.state) != pid or time.monotonic() > deadline:
                return False
            time.sleep(0.2)
    return True


# --- commands ----------------------------------------------------------------------------------


def up(state_dir: Path | None, *, migrate: bool, collectstatic: bool) -> int:
    env = dict(os.environ)
    config = config_from_env(env, state_dir)
    state = config.state
    running = supervisord_pid(state)
    if running is not None:
        say(f"The stack is already up at {load_config(state).url} (supervisord pid {running}).")
        return 0
    tools = find_tools()
    redis_url, start_redis = choose_redis(env, config)
    redis_server = shutil.which("redis-server", path=TOOL_PATH) if start_redis else None
    if start_redis and redis_server is None:
        raise SystemExit(
            f"No Redis answers at {env.get('REDIS_URL') or DEFAULT_REDIS_URL} and redis-server "
            "is not installed: set REDIS_URL, or apt-get install redis-server."
        )
    ports = [config.port, *config.app_ports, config.pgbouncer_port]
    if start_redis:
        ports.append(config.redis_port)
    busy = [port for port in ports if not port_free(port)]
    if busy:
        raise SystemExit(
            f"Port(s) {', '.join(map(str, busy))} on {HOST} already in use: stop what holds "
            "them, or choose others (STACK_PORT, STACK_APP_PORT, STACK_PGBOUNCER_PORT, "
            "STACK_REDIS_PORT)."
        )

    app_env = _prepare_state(config, env, redis_url, start_redis)
    ensure_database(config)
    # Migrations go to PostgreSQL itself, with the timeouts as the startup parameter.
    direct = {**app_env, "DATABASE_URL": config.database_url, "DB_POOLER": "none"}
    if migrate:
        say(f"Migrating {without_password(config.database_url)}")
        manage(["migrate", "--noinput", "-v0"], direct)
    if collectstatic:
        manage(["collectstatic", "--noinput", "-v0"], direct)
    _render_configs(config, tools, app_env, redis_server)

    # supervisord daemonizes: this returns once it has forked; its programs start in order.
    minimal = {key: env[key] for key in ("HOME", "LANG", "LC_ALL") if key in env}
    subprocess.run(
        [tools["supervisord"], "-c", str(state / "supervisord.conf")],
        cwd=REPO_DIR,
        env={**minimal, "PATH": TOOL_PATH},
        check=True,
        timeout=60,
    )
    pid = _wait_for_pid(state)
    if pid is None or not wait_ready(config, pid, READY_TIMEOUT_SECONDS):
        say(f"The stack did not become ready.\n{supervisorctl(config, 'status').stdout}")
        say(_log_tails(config))
        down(state)
        return 1
    _say_up(config, redis_url, start_redis)
    return 0


def _prepare_state(
    config: StackConfig, env: Mapping[str, str], redis_url: str, start_redis: bool
) -> dict[str, str]:
    """The state folder's layout, stack.json and the app servers' environment (returned)."""
    state = config.state
    folders = [state, state / "nginx", state / "logs", state / "metrics"]
    folders += [state / "redis"] if start_redis else []
    folders += [state / "metrics" / f"app-{port}" for port in config.app_ports]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        # nginx's workers (www-data when started as root) must reach their temporary folders.
        folder.chmod(0o755)
    _save_config(config)
    app_env = app_environment(config, env, redis_url)
    _write(state / "app-env.json", json.dumps(app_env, indent=2, sort_keys=True) + "\n", 0o600)
    return app_env


def _render_configs(
    config: StackConfig, tools: Mapping[str, str], app_env: Mapping[str, str], redis: str | None
) -> None:
    state = config.state
    app = read_app_settings(app_env, state)
    _write(state / "nginx.conf", nginx_conf(config, app, app_env["ERROR_DOCS_BASE_URL"]))
    _write(state / "pgbouncer.ini", pgbouncer_conf(config, app), 0o600)
    _write(state / "pgbouncer-users.txt", pgbouncer_users(config), 0o600)
    program = redis_program(config, redis) if redis else ""
    _write(state / "supervisord.conf", supervisord_conf(config, app, tools, program), 0o600)
    checked = subprocess.run(
        [tools["nginx"], "-t", "-q", "-p", f"{state}/nginx", "-c", str(state / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if checked.returncode != 0:
        raise SystemExit(f"nginx rejects {state / 'nginx.conf'}:\n{checked.stderr}")


def _say_up(config: StackConfig, redis_url: str, started_redis: bool) -> None:
    python = PYTHON.relative_to(REPO_DIR) if PYTHON.is_relative_to(REPO_DIR) else PYTHON
    script = f"{python} deploy/stack.py"
    stop = "make stack-down"
    if config.state != DEFAULT_STATE:
        script += f" --state-dir {config.state}"
        stop = f"{script} down"
    ports = f":{config.app_ports[0]}" + (f"-{config.app_ports[-1]}" if config.apps > 1 else "")
    say(
        f"\nThe stack is up: {config.url}\n"
        f"  nginx :{config.port} -> {config.apps} app server(s) {ports} "
        f"({config.workers} uWSGI workers each) -> PgBouncer :{config.pgbouncer_port} -> "
        f"{without_password(config.database_url)}\n"
        f"  Redis: {redis_url} ({'started by the stack' if started_redis else 'already running'})\n"
        f"  a token: {script} manage issue_token alice [--staff]\n"
        f"  status:  {script} status   (logs in {config.state / 'logs'})\n"
        f"  stop:    {stop}\n"
    )


def _wait_for_pid(state: Path, timeout: float = 10.0) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = supervisord_pid(state)
        if pid is not None:
            return pid
        time.sleep(0.05)
    return None


def down(state_dir: Path | None) -> int:
    """Stop this state folder's supervisord (it stops its programs first), and nothing else."""
    state = config_from_env(os.environ, state_dir).state
    pid = supervisord_pid(state)
    if pid is None:
        say(f"The stack of {state} is not running.")
        return 0
    tree = process_tree(pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline and any(alive(p, s) for p, s in tree.items()):
        time.sleep(0.1)
    # Whatever outlived supervisord's own stop (it waits stopwaitsecs, then kills) dies now.
    leftovers = [p for p, s in tree.items() if alive(p, s)]
    for leftover in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(leftover, signal.SIGKILL)
    say(f"The stack of {state} is stopped" + (f" ({len(leftovers)} killed)." if leftovers else "."))
    return 0


def status(state_dir: Path | None) -> int:
    config = load_config(config_from_env(os.environ, state_dir).state)
    if supervisord_pid(config.state) is None:
        say(f"The stack of {config.state} is not running.")
        return 3
    result = supervisorctl(config, "status")
    say(result.stdout.rstrip("\n"))
    return result.returncode


def exec_app(state_dir: Path | None, bind: str) -> int:
    """Replace this process by an app server (serve.py: supervisord signals uWSGI itself)."""
    state = config_from_env(os.environ, state_dir).state
    port = bind.rpartition(":")[2]
    env = {
        **_load_app_environment(state),
        "BIND": bind,
        "PROMETHEUS_MULTIPROC_DIR": str(state / "metrics" / f"app-{port}"),
    }
    os.chdir(REPO_DIR)
    os.execve(PYTHON, [str(PYTHON), "serve.py"], env)


def exec_webhooks(state_dir: Path | None) -> int:
    """Replace this process by the webhook worker, on a direct connection (LISTEN/NOTIFY)."""
    state = config_from_env(os.environ, state_dir).state
    env = _load_app_environment(state)
    env.update(DATABASE_URL=env.pop("STACK_DIRECT_DATABASE_URL"), DB_POOLER="none")
    os.chdir(REPO_DIR)
    os.execve(PYTHON, [str(PYTHON), "manage.py", "run_webhooks"], env)


def exec_manage(state_dir: Path | None, args: Sequence[str]) -> int:
    """manage.py with the app servers' environment (through PgBouncer)."""
    state = config_from_env(os.environ, state_dir).state
    os.chdir(REPO_DIR)
    os.execve(PYTHON, [str(PYTHON), "manage.py", *args], _load_app_environment(state))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--state-dir", type=Path, help="default: STACK_STATE_DIR or ./.stack")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start the stack and wait until it answers")
    start.add_argument("--no-migrate", action="store_true")
    start.add_argument("--no-collectstatic", action="store_true")
    commands.add_parser("down", help="stop what `up` started")
    commands.add_parser("status", help="each program's state")
    app = commands.add_parser("app", help="run one app server (supervisord's command)")
    app.add_argument("--bind", required=True)
    commands.add_parser("webhooks", help="run the webhook worker (supervisord's command)")
    run = commands.add_parser("manage", help="manage.py with the app servers' environment")
    run.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    if options.command == "up":
        return up(
            options.state_dir,
            migrate=not options.no_migrate,
            collectstatic=not options.no_collectstatic,
        )
    if options.command == "down":
        return down(options.state_dir)
    if options.command == "status":
        return status(options.state_dir)
    if options.command == "app":
        return exec_app(options.state_dir, options.bind)
    if options.command == "webhooks":
        return exec_webhooks(options.state_dir)
    return exec_manage(options.state_dir, options.args)


if __name__ == "__main__":
    sys.exit(main())
