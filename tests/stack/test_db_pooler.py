"""DB_POOLER: what the app sends PostgreSQL behind PgBouncer, read from its settings (no server)."""

import json
import os
import subprocess
import sys

import pytest

from tests.live import REPO_ROOT

PG_URL = "postgres://shop@db.internal:5432/orders"
SESSION_OPTIONS = (
    "-c statement_timeout=5000 -c lock_timeout=2000 -c idle_in_transaction_session_timeout=10000"
    " -c plan_cache_mode=force_generic_plan"
)
_READ = """
import json
from orderservice import settings
print(json.dumps({
    "pooler": settings.DB_POOLER,
    "session_options": settings.DB_SESSION_OPTIONS,
    "options": settings.DATABASES["default"]["OPTIONS"],
    "no_named_cursors": settings.DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"],
}))
"""


def settings_with(**env: str) -> dict:
    """The settings module as a fresh process with this environment imports it."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DB_", "DJANGO_", "PYTEST_")) and key != "DATABASE_URL"
    }
    result = subprocess.run(
        [sys.executable, "-c", _READ],
        cwd=REPO_ROOT,
        env={**base, "SECRET_KEY": "x" * 50, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found: dict = json.loads(result.stdout)
    return found


def test_behind_pgbouncer_no_options_are_sent_and_parameters_are_bound_on_the_client():
    found = settings_with(DATABASE_URL=PG_URL, DB_POOLER="pgbouncer")

    assert found["pooler"] == "pgbouncer"
    assert "options" not in found["options"]
    assert found["options"]["server_side_binding"] is False
    assert found["options"]["prepare_threshold"] is None  # PgBouncer 1.18 cannot route them
    assert found["no_named_cursors"] is True  # QuerySet.iterator() fetches all at once
    # What PgBouncer's connect_query sets instead (deploy/stack.py renders it from this): the
    # plans cached in the hot statements' functions stay generic (common/db/stored.py).
    assert found["session_options"] == SESSION_OPTIONS


def test_behind_pgbouncer_binding_stays_on_the_client_whatever_else_is_set():
    found = settings_with(
        DATABASE_URL=f"{PG_URL}?options=-c%20search_path%3Dshop",
        DB_POOLER="PgBouncer",
        DB_SERVER_SIDE_BINDING="1",
    )

    assert "options" not in found["options"]
    assert found["options"]["server_side_binding"] is False
    assert found["options"]["prepare_threshold"] is None  # PgBouncer 1.18 cannot route them


def test_without_a_pooler_the_timeouts_travel_as_the_startup_options():
    found = settings_with(DATABASE_URL=PG_URL)

    assert found["pooler"] == "none"
    assert found["options"]["options"] == SESSION_OPTIONS
    assert found["options"]["server_side_binding"] is True
    assert found["options"]["prepare_threshold"] == 5
    assert found["no_named_cursors"] is False
    unbound = settings_with(DATABASE_URL=PG_URL, DB_SERVER_SIDE_BINDING="0")
    assert unbound["options"]["server_side_binding"] is False
    unprepared = settings_with(
        DATABASE_URL=PG_URL, DB_PREPARE_THRESHOLD="off", DB_PLAN_CACHE_MODE="auto"
    )
    assert unprepared["options"]["prepare_threshold"] is None
    assert unprepared["options"]["options"].endswith("-c plan_cache_mode=auto")


def test_the_timeouts_follow_their_settings():
    found = settings_with(
        DATABASE_URL=PG_URL,
        DB_POOLER="pgbouncer",
        DB_STATEMENT_TIMEOUT_SECONDS="1.5",
        DB_LOCK_TIMEOUT_SECONDS="0.25",
    )

    assert found["session_options"] == (
        "-c statement_timeout=1500 -c lock_timeout=250 -c idle_in_transaction_session_timeout=10000"
        " -c plan_cache_mode=force_generic_plan"
    )


@pytest.mark.parametrize("value", ["pgpool", "yes"])
def test_an_unknown_pooler_is_refused_at_start(value):
    result = subprocess.run(
        [sys.executable, "-c", _READ],
        cwd=REPO_ROOT,
        env={**os.environ, "SECRET_KEY": "x" * 50, "DATABASE_URL": PG_URL, "DB_POOLER": value},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "DB_POOLER must be none or pgbouncer" in result.stderr
