"""Django settings; every value that varies between deployments comes from the environment."""

import os
import re
from email.utils import parseaddr
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_prometheus",
    # The shared HTTP edge: no models now, but installed for its migrations, which moved
    # ApiToken to tokens and which tokens' migrations depend on (and for its templates, checks).
    "orderservice.api",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "orderservice.tokens",
    "orderservice.inventory",
    "orderservice.orders",
    "orderservice.idempotency",
    "orderservice.events",
]

MIDDLEWARE = [
    # Outermost: the request id and the one log line per request see the final answer.
    "orderservice.api.request_log.RequestLogMiddleware",
    # X-Forwarded-* only from TRUSTED_PROXIES: dropped before anything below reads them.
    "orderservice.api.proxy.ForwardedHeadersMiddleware",
    "orderservice.api.middleware.JsonErrorMiddleware",
    "orderservice.api.health.DatabaseCircuitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # the admin's static files, in production too
    # Sessions, Django's authentication and messages run on the admin's (HTML) paths only.
    "orderservice.api.middleware.SessionMiddleware",
    # Django's CommonMiddleware as used here (Host check, Content-Length), Host verdicts kept.
    "orderservice.api.middleware.CommonMiddleware",
    # Before the CSRF check: a refused admin login attempt costs no more work.
    "orderservice.api.throttling.AdminLoginThrottleMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "orderservice.api.middleware.AuthenticationMiddleware",
    "orderservice.api.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost: counts and times each answer by view (see the module for what it records).
    "orderservice.api.request_metrics.RequestMetricsMiddleware",
]

ROOT_URLCONF = "orderservice.urls"
WSGI_APPLICATION = "orderservice.wsgi.application"
APPEND_SLASH = False  # paths answer with and without the slash, never by redirect

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=600,
        # Off by default: Django's check is a `SELECT 1` before every request's first query (and
        # it bypasses the watchdog below). A connection that broke since its last use fails fast
        # instead, and is discarded: reads and writes run again on a new one (common/db/).
        conn_health_checks=env_bool("DB_HEALTH_CHECKS", False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time: BEGIN IMMEDIATE takes the write lock up front, so a read-then-write
    # inside a transaction can never race another writer; waiters queue on the busy timeout.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# How long one write may keep retrying deadlocks, serialization failures, lock timeouts and lost
# connections (a read: lost connections) before the client gets 503 with Retry-After.
DB_RETRY_BUDGET_SECONDS = env_float("DB_RETRY_BUDGET_SECONDS", 5.0)

# Bounded time for everything the database does (SPEC §8); a lock wait or statement cut short is
# retried within the budget above. psycopg's connect timeout is whole seconds, at least 2. On top
# of the server's limits, a watchdog thread in each process cuts any round trip still unanswered
# half a second after the statement timeout or (in a request) the budget left, whichever ends
# first: a network that silently swallows a connection's traffic ends in 503 too (common/db/).
DB_CONNECT_TIMEOUT_SECONDS = env_float("DB_CONNECT_TIMEOUT_SECONDS", 2.0)
DB_STATEMENT_TIMEOUT_SECONDS = env_float("DB_STATEMENT_TIMEOUT_SECONDS", 5.0)
DB_LOCK_TIMEOUT_SECONDS = env_float("DB_LOCK_TIMEOUT_SECONDS", 2.0)
# A transaction left idle by a stuck process releases its locks after this long.
DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS = env_float("DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS", 10.0)
# After this many connection failures in a row a process answers 503 at once for the cool-down,
# then lets one request through to probe the database.
DB_BREAKER_FAILURES = int(env_float("DB_BREAKER_FAILURES", 3))
DB_BREAKER_COOLDOWN_SECONDS = env_float("DB_BREAKER_COOLDOWN_SECONDS", 2.0)
# Behind a pooler in transaction mode a server connection serves many clients in turn, so the app
# keeps nothing in the session. DB_POOLER=pgbouncer: no `options` startup parameter (PgBouncer
# refuses it; its connect_query sets DB_SESSION_OPTIONS on each server connection instead),
# parameters bound on the client (one simple-protocol message per statement), no named cursors.
# The app's only SET, the retry's caps (common/db/transactions.py), is transaction-local.
DB_POOLER = os.environ.get("DB_POOLER", "").strip().lower() or "none"
if DB_POOLER not in {"none", "pgbouncer"}:
    raise ImproperlyConfigured(f"DB_POOLER must be none or pgbouncer, not {DB_POOLER!r}.")
# Prepared statements (direct connections only; None: never). The app's statements look rows up
# by key with bound parameters, so one generic plan serves every execution: `force_generic_plan`
# keeps PostgreSQL from planning a statement again on each run when its estimate of the generic
# plan comes out a little dearer than a custom one (it did for the order statement, with the same
# index scans either way). It holds for the plans PL/pgSQL caches too: the hot one-statement
# writes run as functions (common/db/stored.py), planned once per server connection, direct or
# behind PgBouncer.
_prepare_after = os.environ.get("DB_PREPARE_THRESHOLD", "5").strip().lower()
DB_PREPARE_THRESHOLD = None if _prepare_after in {"", "none", "off"} else int(_prepare_after)
DB_PLAN_CACHE_MODE = os.environ.get("DB_PLAN_CACHE_MODE", "force_generic_plan")
if DB_PLAN_CACHE_MODE not in {"auto", "force_generic_plan", "force_custom_plan"}:
    raise ImproperlyConfigured(
        "DB_PLAN_CACHE_MODE must be auto, force_generic_plan or force_custom_plan, "
        f"not {DB_PLAN_CACHE_MODE!r}."
    )
# The server settings every session runs under, as PostgreSQL's `-c name=value` options: the
# startup `options` of a direct connection, PgBouncer's connect_query behind it.
DB_SESSION_OPTIONS = " ".join(
    [
        *(
            f"-c {name}={int(seconds * 1000)}"
            for name, seconds in (
                ("statement_timeout", DB_STATEMENT_TIMEOUT_SECONDS),
                ("lock_timeout", DB_LOCK_TIMEOUT_SECONDS),
                ("idle_in_transaction_session_timeout", DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS),
            )
        ),
        f"-c plan_cache_mode={DB_PLAN_CACHE_MODE}",
    ]
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A named cursor (QuerySet.iterator()) outlives its transaction in autocommit mode: behind a
    # transaction pooler its next FETCH may reach another server connection (Django's docs).
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = DB_POOLER == "pgbouncer"
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    if DB_POOLER == "none":
        _pg_options["options"] = " ".join(
            filter(None, [_pg_options.get("options"), DB_SESSION_OPTIONS])
        )
    else:
        _pg_options.pop("options", None)
    _pg_options.update(
        {
            "connect_timeout": max(2, round(DB_CONNECT_TIMEOUT_SECONDS)),
            # A network that silently drops packets: the kernel gives the connection up (keepalive
            # probes while waiting for an answer, tcp_user_timeout while sending). The watchdog
            # cuts a request's wait sooner, and also where a proxy on the path answers probes.
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 3,
            "tcp_user_timeout": 10_000,
            # Parameters travel apart from the SQL (the extended protocol).
            "server_side_binding": DB_POOLER == "none" and env_bool("DB_SERVER_SIDE_BINDING", True),
            # On a direct connection a statement run DB_PREPARE_THRESHOLD times is prepared
            # (psycopg names it on the server, per connection), and with plan_cache_mode above
            # it is planned once. Behind PgBouncer in transaction mode nothing is prepared
            # (Django's default, None): the next statement may reach another server connection.
            # Either way the hot writes' long statements are planned once per server connection
            # inside their functions (common/db/stored.py): planning was ~40% of the
            # one-statement order's database time.
            "prepare_threshold": DB_PREPARE_THRESHOLD if DB_POOLER == "none" else None,
        }
    )

# --- the shop: prices and stock (SPEC §10, §11) ------------------------------------------------

# One currency per deployment, an ISO 4217 code, shown beside every price.
CURRENCY = os.environ.get("CURRENCY", "USD")
if not re.fullmatch(r"[A-Z]{3}", CURRENCY):
    raise ImproperlyConfigured(f"CURRENCY must be an ISO 4217 code (3 capitals), not {CURRENCY!r}.")
# A new product's low_stock_threshold: at or below it (and above 0) its stock is "low_stock".
LOW_STOCK_THRESHOLD = int(os.environ.get("LOW_STOCK_THRESHOLD") or 5)
if not 0 <= LOW_STOCK_THRESHOLD <= 1_000_000_000:
    raise ImproperlyConfigured("LOW_STOCK_THRESHOLD must be from 0 to 1000000000.")

# --- alerts to admins (SPEC §8) -----------------------------------------------------------------

# ADMINS: comma-separated addresses ("Ops <ops@example.com>, oncall@example.com") for mail_admins.
ADMINS = [parseaddr(address) for address in env_list("ADMINS")]
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", "orderservice@localhost")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_TIMEOUT = 10
# An optional URL that gets a JSON POST for each alert and recovery notice.
ALERT_WEBHOOK_URL = os.environ.get("ALERT_WEBHOOK_URL", "")
ALERT_WEBHOOK_TIMEOUT_SECONDS = env_float("ALERT_WEBHOOK_TIMEOUT_SECONDS", 5.0)
# At most one alert per process per interval, however many requests fail.
ALERT_INTERVAL_SECONDS = env_float("ALERT_INTERVAL_SECONDS", 300.0)

# --- events and webhooks (SPEC §12) ------------------------------------------------------------

# Off: no event is written (the benchmark's comparison); the feed and the webhooks go quiet.
EVENTS_ENABLED = env_bool("EVENTS_ENABLED", True)
EVENT_RETENTION_DAYS = int(env_float("EVENT_RETENTION_DAYS", 30))
# Fernet keys (comma-separated, the newest first) that encrypt webhook secrets at rest, so that a
# copy of the database alone cannot sign. Required when DEBUG is off (check --deploy and
# run_webhooks fail without them); with DEBUG on a development key is derived from SECRET_KEY.
WEBHOOK_SECRET_KEYS = env_list("WEBHOOK_SECRET_KEYS")
# Receivers must be https:// and public addresses unless these are on (development, tests).
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP")
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE")
# A delivery is a 2xx within this long, connection included.
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
# Multiplies the retry schedule (5 s ... 10 h); tests shrink it.
WEBHOOK_SCHEDULE_SCALE = env_float("WEBHOOK_SCHEDULE_SCALE", 1.0)
# An endpoint whose deliveries have all failed for this long is disabled (admins alerted).
WEBHOOK_DISABLE_AFTER_SECONDS = env_float("WEBHOOK_DISABLE_AFTER_SECONDS", 3 * 24 * 3600.0)
# The worker: deliveries in flight at once, how long a claim is held before another worker may
# take it over (longer than the timeout), and how often it looks for work without a wake-up.
WEBHOOK_CONCURRENCY = int(env_float("WEBHOOK_CONCURRENCY", 8))
WEBHOOK_LEASE_SECONDS = env_float("WEBHOOK_LEASE_SECONDS", 60.0)
WEBHOOK_POLL_SECONDS = env_float("WEBHOOK_POLL_SECONDS", 1.0)

# --- auth -----------------------------------------------------------------------------------

# How long each process may reuse a token lookup; also the longest a revoked token keeps working.
TOKEN_CACHE_SECONDS = env_float("TOKEN_CACHE_SECONDS", 10.0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- HTTP edge ------------------------------------------------------------------------------

MAX_REQUEST_BODY_BYTES = 64 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
# The proxies in front (IPs or CIDRs): only their X-Forwarded-For/-Proto/-Host are believed.
# Empty: no one's; the client is the peer's address. See orderservice/api/proxy.py.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
# scheme://host[:port] the clients reach the service at: `next` and `documentation` links are
# built on it. Empty: on the request's own scheme and Host (as ALLOWED_HOSTS admits it).
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")
# The `documentation` URL's page in error bodies; empty means this server's own /docs/errors.
ERROR_DOCS_BASE_URL = os.environ.get("ERROR_DOCS_BASE_URL", "")

# The plain case of GET /products/{id}, GET /orders/{id} and POST /orders answered without DRF's
# dispatch, with the same answers (orderservice/api/fastpath.py); off: DRF answers everything.
FAST_PATH = env_bool("FAST_PATH", True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Not a way in: applies the per-IP rate limit before any credential is checked.
        "orderservice.api.throttling.IpThrottleAuthentication",
        "orderservice.tokens.authentication.TokenAuthentication",
        "orderservice.tokens.authentication.BearerAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["orderservice.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["orderservice.api.renderers.JSONRenderer"],
    # DRF's, with the usual answers known in advance (see the module for what it saves).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "orderservice.api.negotiation.ContentNegotiation",
    "EXCEPTION_HANDLER": "orderservice.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "orderservice.api.autoschema.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": ["orderservice.api.throttling.UserRateThrottle"],
    # "<n>/<s|m|h|d>", or "off". High by default: they stop runaway clients, not normal load
    # (the test suite and the benchmark stay well below them).
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("THROTTLE_RATE_USER", "20000/min"),
        "ip": os.environ.get("THROTTLE_RATE_IP", "100000/min"),
        # POSTs to /admin/login/ per client address: each costs a password hash (~0.7 s CPU).
        "admin_login": os.environ.get("THROTTLE_RATE_ADMIN_LOGIN", "10/min"),
    },
}

# GET /schema (OpenAPI 3) and GET /docs (Swagger UI, Redoc): public, assets served by the app
# itself from drf-spectacular-sidecar (no CDN). See orderservice/api/autoschema.py and docs.py.
SPECTACULAR_SETTINGS = {
    "TITLE": "Order service API",
    "DESCRIPTION": (
        "Place, view, edit and cancel orders against real stock. Every error is "
        "`{error, documentation, details?}`; `documentation` links to /docs/errors."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_PATCH": False,  # PATCH bodies have their own serializers
    "ENUM_ADD_EXPLICIT_BLANK_NULL_CHOICE": False,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "SWAGGER_UI_DIST": "/docs/assets/swagger-ui-dist",
    "SWAGGER_UI_FAVICON_HREF": "/docs/assets/swagger-ui-dist/favicon-32x32.png",
    "REDOC_DIST": "/docs/assets/redoc",
    # validatorUrl None: no badge fetched from the public validator (offline, no leak of the URL).
    "SWAGGER_UI_SETTINGS": {
        "persistAuthorization": True,
        "displayOperationId": True,
        "validatorUrl": None,
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "orderservice.api.autoschema.postprocess_schema",
    ],
}

# --- cache, metrics -------------------------------------------------------------------------

# The cache holds the throttle counters: Redis when REDIS_URL is set (shared by every process and
# server), else each process's own memory.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "orderservice"),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "orderservice",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    )
}
THROTTLE_CACHE_ALIAS = "default"

# GET /metrics (django-prometheus). Under uWSGI, serve.py sets PROMETHEUS_MULTIPROC_DIR
# so that the figures add up across workers.
PROMETHEUS_EXPORT_MIGRATIONS = False

# --- i18n, static ---------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
# Whitenoise serves STATIC_ROOT (fill it with `manage.py collectstatic`); with DEBUG it also finds
# files in the apps directly.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)

# --- production hardening (python manage.py check --deploy) ---------------------------------

# Believed only from TRUSTED_PROXIES: ForwardedHeadersMiddleware drops it from anyone else.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$", r"^metrics/?$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # One JSON object per line (LOG_FORMAT=text for plain lines), each with the request id.
    "filters": {
        "request_id": {"()": "orderservice.common.logging.RequestIdFilter"},
        "as_warning": {"()": "orderservice.common.logging.AsWarning"},
    },
    "formatters": {
        "json": {"()": "orderservice.common.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": os.environ.get("LOG_FORMAT", "json"),
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Client errors are answered in JSON already; don't echo every 4xx as a warning.
        "django.request": {"level": "ERROR"},
        # A Host outside ALLOWED_HOSTS is answered 400 (JSON); one warning line, no traceback.
        "django.security.DisallowedHost": {"filters": ["as_warning"]},
        # One line per webhook attempt otherwise; the worker records each in the database.
        "httpx": {"level": "WARNING"},
    },
}
