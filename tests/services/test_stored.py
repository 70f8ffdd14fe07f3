"""common/db/stored: the hot one-statement writes as PL/pgSQL functions, planned once per server
connection however the call is sent (prepared or not: behind PgBouncer nothing is)."""

import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from orderservice.common.db import stored
from orderservice.common.db.stored import StoredStatement, StoredStatementMissing
from orderservice.inventory import services as inventory_services
from orderservice.orders import placement
from orderservice.orders.placement import order_place
from tests.factories import ProductFactory, UserFactory, stock
from tests.plannings import order_statement_plannings

ALL_STORED = (*placement.STORED_STATEMENTS, *inventory_services.STORED_STATEMENTS)
SQL = "SELECT p.product_id FROM inventory_product p WHERE p.product_id = ANY(%(ids)s::text[])"


def test_the_name_follows_the_statement_text() -> None:
    statement = StoredStatement("lookup", SQL)

    assert statement.function_name == StoredStatement("lookup", SQL).function_name
    assert statement.function_name != StoredStatement("lookup", SQL + " ORDER BY 1").function_name
    assert statement.function_name.startswith("lookup_")
    assert statement.call == f"SELECT * FROM {statement.function_name}(%(ids)s)"


def test_the_arguments_are_the_placeholders_in_order_of_first_use() -> None:
    statement = StoredStatement("two", "SELECT %(b)s::int + %(a)s::int + %(b)s::int")

    assert statement.parameters == ("b", "a")
    assert statement.positional_sql == "SELECT $1::int + $2::int + $1::int"


@pytest.mark.parametrize(
    ("sql", "refusal"),
    [("SELECT 1", "without parameters"), ("SELECT %(a)s::int % 2", "no %\\(name\\)s placeholder")],
)
def test_a_statement_without_parameters_or_with_a_bare_percent_is_refused(
    sql: str, refusal: str
) -> None:
    with pytest.raises(ValueError, match=refusal):
        StoredStatement("bad", sql)


@pytest.mark.postgres
@pytest.mark.django_db
def test_migrate_made_every_hot_statements_function() -> None:
    assert stored.missing(ALL_STORED) == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_function_returns_what_the_statement_returns() -> None:
    ProductFactory.create(product_id="A")
    ProductFactory.create(product_id="B")
    statement = StoredStatement("lookup", SQL)
    stored.create_all([statement])

    with connection.cursor() as cursor:
        rows = statement.execute(cursor, {"ids": ["B", "C", "A"]})
        cursor.execute(SQL, {"ids": ["B", "C", "A"]})
        assert sorted(rows) == sorted(cursor.fetchall()) == [("A",), ("B",)]


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_function_migrate_did_not_make_fails_loudly() -> None:
    never_made = StoredStatement("never_made", SQL)

    with pytest.raises(StoredStatementMissing, match="run `manage.py migrate`"):
        with transaction.atomic(), connection.cursor() as cursor:
            never_made.execute(cursor, {"ids": ["A"]})


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    "prepare_threshold",
    [None, 0],
    ids=["nothing-prepared-as-behind-pgbouncer", "the-call-prepared-as-on-a-direct-connection"],
)
def test_an_order_is_planned_once_per_server_connection(prepare_threshold: int | None) -> None:
    # given
    ProductFactory.create(product_id="A", product_count=10)
    user = UserFactory.create()
    connection.ensure_connection()
    pg = connection.connection
    was, pg.prepare_threshold = pg.prepare_threshold, prepare_threshold
    try:
        with order_statement_plannings(pg) as plannings:
            # when
            for _ in range(4):
                order_place(user=user, lines={"A": 1}, partial=False)
    finally:
        pg.prepare_threshold = was

    # then: planned by the first call at most (this server connection may have planned it
    # already), not once per order
    assert stock() == {"A": 6}
    assert len(plannings) <= 1


def _functions_named(pattern: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname FROM pg_proc WHERE proname LIKE %s"
            " AND pronamespace = current_schema()::regnamespace ORDER BY 1",
            [pattern],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
@pytest.mark.django_db
def test_pruning_drops_the_functions_of_earlier_texts_and_keeps_the_current_ones() -> None:
    # given: what an earlier version's migrate left (one per stem, another signature), and a
    # function whose name only looks alike (another stem's prefix, not 12 hex digits)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION place_order_0123456789ab(a text) RETURNS int"
            " LANGUAGE sql AS 'SELECT 1'"
        )
        cursor.execute(
            "CREATE FUNCTION stock_exchange_events_fedcba987654(a int, b bigint[]) RETURNS int"
            " LANGUAGE sql AS 'SELECT 1'"
        )
        cursor.execute(
            "CREATE FUNCTION place_order_keep_me(a text) RETURNS int LANGUAGE sql AS 'SELECT 1'"
        )
    current = sorted(statement.function_name for statement in ALL_STORED)

    # when: listed, then dropped
    listed = stored.stale()
    call_command("prune_stored_statements", "--dry-run", stdout=io.StringIO())
    kept_by_dry_run = _functions_named("place_order_0123456789ab")
    out = io.StringIO()
    call_command("prune_stored_statements", stdout=out)

    # then
    assert listed == [
        "place_order_0123456789ab(text)",
        "stock_exchange_events_fedcba987654(integer,bigint[])",
    ]
    assert kept_by_dry_run == ["place_order_0123456789ab"]
    assert "Dropped 2 function(s)" in out.getvalue()
    assert stored.stale() == []
    assert not _functions_named("%0123456789ab") + _functions_named("%fedcba987654")
    assert _functions_named("place_order_keep_me") == ["place_order_keep_me"]
    assert stored.missing(ALL_STORED) == []
    assert sorted(name for name in current if _functions_named(name)) == current


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite has no stored statements")
@pytest.mark.django_db
def test_pruning_on_sqlite_does_nothing() -> None:
    out = io.StringIO()
    call_command("prune_stored_statements", stdout=out)

    assert out.getvalue() == "Not PostgreSQL: no stored statements.\n"
