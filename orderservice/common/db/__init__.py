"""The database's availability policy: errors classified, breaker, retrying transaction, health."""

# statements: imported for its connection_created hook, which bounds each connection's statements.
from orderservice.common.db import statements  # noqa: F401
from orderservice.common.db.availability import database_breaker, database_breaker_reset
from orderservice.common.db.errors import sqlstate
from orderservice.common.db.health import database_failed, database_ping, database_refusal
from orderservice.common.db.transactions import (
    in_single_statement,
    in_transaction,
    require_transaction,
)

__all__ = [
    "database_breaker",
    "database_breaker_reset",
    "database_failed",
    "database_ping",
    "database_refusal",
    "in_single_statement",
    "in_transaction",
    "require_transaction",
    "sqlstate",
]
