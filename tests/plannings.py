"""Counting the plans PostgreSQL makes for the order statement on one connection."""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


@contextmanager
def order_statement_plannings(pg: psycopg.Connection) -> Iterator[list[str]]:
    """Each plan the server makes on `pg`, within its current transaction, of a statement that
    writes an order (debug_print_plan sends every plan it makes to the client, as a LOG)."""
    plannings: list[str] = []

    def on_notice(diagnostic: psycopg.errors.Diagnostic) -> None:
        detail = diagnostic.message_detail or ""
        if diagnostic.message_primary == "plan:" and "orders_order" in detail:
            plannings.append(detail)

    # Transaction-local: nothing stays on a server connection PgBouncer hands on.
    pg.execute("SELECT set_config('debug_print_plan', 'on', true)")
    pg.execute("SELECT set_config('client_min_messages', 'log', true)")
    pg.add_notice_handler(on_notice)
    try:
        yield plannings
    finally:
        pg.remove_notice_handler(on_notice)
