"""The watchdog's reach, in this process on PostgreSQL: during a request a statement waits at most
the retry budget (and the margin), then the read gives up with DatabaseUnavailable; outside a
request (migrate, management commands) only the server's statement timeout applies."""

import time

import pytest
from django.db import connection

from orderservice.common.db import database_breaker_reset
from orderservice.common.exceptions import DatabaseUnavailable
from orderservice.common.logging import request_id_var

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]

BUDGET = 0.3


@pytest.fixture
def small_budget(settings):
    settings.DB_RETRY_BUDGET_SECONDS = BUDGET
    yield
    database_breaker_reset()  # the cut below counts as an outage


@pytest.mark.django_db
@pytest.mark.usefixtures("small_budget")
def test_outside_a_request_a_statement_may_outlast_the_budget():
    # Outside a request: no request id in this thread's context, whatever an earlier test that
    # called the WSGI application in this thread left there.
    outside = request_id_var.set(None)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(%s), 1", [BUDGET + 0.7])
            assert cursor.fetchone()[1] == 1
    finally:
        request_id_var.reset(outside)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("small_budget")
def test_in_a_request_a_statement_past_the_budget_is_cut():
    in_request = request_id_var.set("test-round-trips")  # as the request log middleware does
    started = time.monotonic()
    try:
        with pytest.raises(DatabaseUnavailable), connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(1.5)")
    finally:
        request_id_var.reset(in_request)
    assert time.monotonic() - started < BUDGET + 1.0
    with connection.cursor() as cursor:  # a new connection serves the next statement
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
        # The abandoned backend ends once its sleep does (it then finds no client): wait for it,
        # so that the test database can be dropped.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep%%'"
            )
            if cursor.fetchone() == (0,):
                break
            time.sleep(0.1)
