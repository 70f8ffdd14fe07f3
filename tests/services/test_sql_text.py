"""common/db/sql_text.compact: the same statement, short enough for psycopg's conversion cache."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg import _queries as psycopg_queries

from orderservice.common.db.sql_text import DRIVER_CACHED_LENGTH, compact
from orderservice.events import outbox_sql
from orderservice.inventory import services as inventory_services
from orderservice.inventory import stock_sql
from orderservice.orders import placement

# A statement's tokens: quoted literals and identifiers whole, words, and each other character.
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|%\(\w+\)s|\w+|::|\S")

HOT_STATEMENTS = {
    "place order": placement._PLACE_ORDER,
    "place order with events": placement._PLACE_ORDER_WITH_EVENTS,
    "stock exchange": inventory_services._EXCHANGE,
    "stock exchange with events": inventory_services._EXCHANGE_WITH_EVENTS,
}
# The same statements as their pieces read in the source, layout and all.
AS_WRITTEN = {
    "place order": f"WITH {stock_sql.CTES}, {placement._ORDER_CTES} {stock_sql.RESULT}",
    "place order with events": (
        f"WITH {stock_sql.CTES}, {placement._ORDER_CTES}, "
        f"{outbox_sql.cte(placement._ORDER_PLACED_EVENT)} {stock_sql.RESULT}"
    ),
    "stock exchange": f"WITH {stock_sql.CTES} {stock_sql.RESULT}",
    "stock exchange with events": (
        f"WITH {stock_sql.CTES}, {outbox_sql.cte(stock_sql.CROSSING_EVENTS)} {stock_sql.RESULT}"
    ),
}


def tokens(sql: str) -> list[str]:
    return _TOKEN.findall(sql)


def test_the_limit_is_the_drivers():
    assert DRIVER_CACHED_LENGTH == psycopg_queries.MAX_CACHED_STATEMENT_LENGTH


@pytest.mark.parametrize("name", sorted(HOT_STATEMENTS))
def test_each_hot_statement_fits_the_drivers_cache(name):
    # Over the limit psycopg re-parses the text on every execute (~10% of a placed order).
    assert len(HOT_STATEMENTS[name].encode()) <= DRIVER_CACHED_LENGTH


def test_layout_goes_and_tokens_stay():
    sql = """SELECT a.x ,  'two  words' ,"Mixed  Case"
             FROM t AS a
             WHERE a.y >= %(low)s::bigint AND a.z <> - 1"""

    assert compact(sql) == (
        "SELECT a.x,'two  words',\"Mixed  Case\" FROM t AS a WHERE a.y>=%(low)s::bigint AND a.z<>-1"
    )
    assert tokens(compact(sql)) == tokens(sql)


@pytest.mark.parametrize("sql", ["SELECT 1 - -1", "SELECT 1 -- note\n, 2", "SELECT /* x */ 1"])
def test_a_text_that_would_open_a_comment_is_refused(sql):
    with pytest.raises(ValueError, match="comment"):
        compact(sql)


_PIECES = st.sampled_from(
    ["SELECT", "a", "b.c", "1", "%(p)s", "::text", "'x  y'", "' '", '"Q  r"', "(", ")", ",",
     "=", "<", ">", "+", "*", "/", "|", "-", " ", "  ", "\n", "\t"]
)  # fmt: skip


@given(st.lists(_PIECES, max_size=40))
def test_compacting_never_changes_a_token(pieces):
    sql = " ".join(pieces)
    try:
        compacted = compact(sql)
    except ValueError:
        return  # refused: it would have opened a comment
    assert tokens(compacted) == tokens(sql)


@pytest.mark.parametrize("name", sorted(HOT_STATEMENTS))
def test_the_hot_statements_keep_their_tokens(name):
    sql = HOT_STATEMENTS[name]
    assert tokens(sql) == tokens(AS_WRITTEN[name])
    assert sql == compact(sql)  # already compact: compacted where defined
    assert "\n" not in sql
    assert "  " not in sql
