"""A hot statement kept on the server as a PL/pgSQL function, so that it is planned once per
server connection whoever sends it: the way to cache a plan that works behind a transaction pooler.

Why: a long statement (the one-statement order, ~4 KB of SQL with data-modifying CTEs) costs
PostgreSQL as much to parse and plan as to run. A prepared statement saves that, but it is
named by the client and lives in one server session; behind PgBouncer in transaction mode
(Debian's 1.18: no prepared statement support) the next execution may reach another server
connection, so the app prepares nothing there and the statement was planned on every order.
PL/pgSQL caches the plans of the statements in a function's body per backend, keyed by the
function: any client of the pool reuses the plan of the server connection it lands on, and with
plan_cache_mode=force_generic_plan (the app's session setting, which PgBouncer's connect_query
sets too) it is planned once, not once per call.

    PLACE = StoredStatement("place_order", "WITH ... %(stock_ids)s::text[] ... SELECT ...")
    cursor.execute(PLACE.call, params)   # SELECT * FROM place_order_<hash>(%(stock_ids)s, ...)

`call` is one short statement, sent as the statement itself was: one round trip, its own
transaction in autocommit mode, its rows those of the statement's final SELECT, its errors (and
their SQLSTATE: lock timeouts, deadlocks) the statement's. Nothing else changes: the body runs as
a top-level statement would (READ COMMITTED: a fresh snapshot, the same row locks and
re-checks).

The function is made (or replaced) by every `migrate` that leaves the schema at its newest
(`create_after_migrate` connects the receiver for an app's statements; the statements are written
for the newest schema, so a migrate back to an older one makes none), and by a `flush` (Django
follows it with post_migrate too) when one is missing. Its parameters and result
columns take the types PostgreSQL infers for the statement (asked once, at migrate: the
statement is described, never run), so the statement is written once, in the caller's
`%(name)s` style, and a parameter PostgreSQL cannot type fails the migrate. Its name carries a
hash of the statement's text: an app server calls the function of exactly the text it was
built with, so during a rolling deploy the old and the new servers each call their own (old
functions stay; they are a few rows of pg_proc, and `manage.py prune_stored_statements` drops
them once no server of an older version runs: `stale` and `drop`). A server whose migrate did
not run gets StoredStatementMissing, a 500 that says so, never a silent fallback to the plain
statement.
The hash covers the text, not the types inferred: a migration that changes the type of a
column under an unchanged statement makes PostgreSQL refuse the replacement at migrate (a
function's result type cannot change); change the statement's name then.
"""

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.apps import AppConfig
from django.db import ProgrammingError, connections, router, transaction
from django.db.backends.utils import CursorWrapper
from django.db.migrations.executor import MigrationExecutor
from django.db.models.signals import post_migrate

from orderservice.common.db.errors import sqlstate

# Changing how the function is written (below) must change every name too.
_TEMPLATE_VERSION = "1"
_HASH_DIGITS = 12  # of the statement's hash in its function's name
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_UNDEFINED_FUNCTION = "42883"


class StoredStatementMissing(RuntimeError):
    """The statement's function is not in the database: this app version's migrate did not run."""


@dataclass(frozen=True)
class StoredStatement:
    """`sql` (with `%(name)s` placeholders) as the function `function_name`, called by `call`."""

    name: str  # the function name's stem: a lowercase SQL identifier
    sql: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", self.name):
            raise ValueError(f"not a plain lowercase SQL name: {self.name!r}")
        if "%" in _PLACEHOLDER.sub("", self.sql):
            raise ValueError("a % that is no %(name)s placeholder (the call would bind it)")
        if not self.parameters:
            raise ValueError("a statement without parameters needs no function")

    @cached_property
    def function_name(self) -> str:
        digest = hashlib.sha256(f"{_TEMPLATE_VERSION}\0{self.sql}".encode()).hexdigest()
        return f"{self.name}_{digest[:_HASH_DIGITS]}"

    @cached_property
    def parameters(self) -> tuple[str, ...]:
        """The placeholders' names in the order of their first use: the function's arguments."""
        return tuple(dict.fromkeys(_PLACEHOLDER.findall(self.sql)))

    @cached_property
    def call(self) -> str:
        """The statement that runs it, with the statement's own `%(name)s` parameters."""
        arguments = ", ".join(f"%({name})s" for name in self.parameters)
        return f"SELECT * FROM {self.function_name}({arguments})"

    @cached_property
    def positional_sql(self) -> str:
        """`sql` with `$n` for each placeholder: the function's body, and what is described."""
        position = {name: index for index, name in enumerate(self.parameters, start=1)}
        return _PLACEHOLDER.sub(lambda match: f"${position[match.group(1)]}", self.sql)

    def execute(self, cursor: CursorWrapper, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run the statement (its function) with `params`; its rows."""
        try:
            cursor.execute(self.call, params)
        except ProgrammingError as exc:
            if sqlstate(exc) == _UNDEFINED_FUNCTION and self.function_name in str(exc):
                raise StoredStatementMissing(
                    f"function {self.function_name} ({self.name}) is not in the database: "
                    "run `manage.py migrate` with this version of the app"
                ) from exc
            raise
        return list(cursor.fetchall())

    def definition(self, cursor: CursorWrapper) -> str:
        """CREATE OR REPLACE FUNCTION, with the types PostgreSQL infers for the statement."""
        parameter_types, columns = _described(cursor, self.positional_sql)
        if len(parameter_types) != len(self.parameters):
            raise ValueError(f"{self.name}: PostgreSQL sees {len(parameter_types)} parameters")
        untyped = [n for n, t in zip(self.parameters, parameter_types, strict=True) if not t]
        if untyped:
            raise ValueError(f"{self.name}: PostgreSQL cannot type {', '.join(untyped)}: cast it")
        arguments = ", ".join(parameter_types)
        result = ", ".join(f"{quoted} {type_}" for quoted, type_ in columns)
        # The result columns are OUT variables named as the statement's columns: the body's
        # column references must win over them (it uses no variable but $n).
        return (
            f"CREATE OR REPLACE FUNCTION {self.function_name}({arguments})\n"
            f"RETURNS TABLE ({result}) LANGUAGE plpgsql VOLATILE AS $stored$\n"
            "#variable_conflict use_column\n"
            f"BEGIN\nRETURN QUERY {self.positional_sql};\nEND\n$stored$"
        )

    def create(self, cursor: CursorWrapper) -> None:
        cursor.execute(self.definition(cursor))


def _described(cursor: CursorWrapper, sql: str) -> tuple[list[str], list[tuple[str, str]]]:
    # Prepared (the unnamed statement) and described by the server, never executed: the types
    # of its parameters, and the names and types of its result columns.
    pgconn = cursor.connection.pgconn  # psycopg's libpq connection
    prepared = pgconn.prepare(b"", sql.encode(), None)
    if prepared.error_message:
        raise ProgrammingError(prepared.error_message.decode(errors="replace"))
    described = pgconn.describe_prepared(b"")
    if described.error_message:
        raise ProgrammingError(described.error_message.decode(errors="replace"))
    parameter_oids = [described.param_type(i) for i in range(described.nparams)]
    fields = [
        ((described.fname(i) or b"").decode(), described.ftype(i)) for i in range(described.nfields)
    ]
    oids = parameter_oids + [oid for _, oid in fields]
    cursor.execute(
        "SELECT CASE WHEN o IN (0, 705) THEN '' ELSE format_type(o, NULL) END,"  # 705: unknown
        " quote_ident(n) FROM unnest(%s::oid[], %s::text[]) AS t(o, n)",
        [oids, [""] * len(parameter_oids) + [name for name, _ in fields]],
    )
    rows = cursor.fetchall()
    types = [row[0] for row in rows]
    columns = [(row[1], row[0]) for row in rows[len(parameter_oids) :]]
    return types[: len(parameter_oids)], columns


def create_all(statements: Iterable[StoredStatement], using: str = "default") -> None:
    """Create (or replace) each statement's function in the database `using`, in one
    transaction (which also keeps the describe and the create on one server connection
    behind a transaction pooler)."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        for statement in statements:
            statement.create(cursor)


def missing(statements: Iterable[StoredStatement], using: str = "default") -> list[str]:
    """The names of the statements' functions not in the database `using`."""
    names = [statement.function_name for statement in statements]
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT proname FROM pg_proc"
            " WHERE proname = ANY(%s) AND pronamespace = current_schema()::regnamespace",
            [names],
        )
        found = {row[0] for row in cursor.fetchall()}
    return [name for name in names if name not in found]


# Every statement an app makes after migrate (its AppConfig.ready): what `stale` compares with.
_REGISTERED: list[StoredStatement] = []


def create_after_migrate(app: AppConfig, statements: Sequence[StoredStatement]) -> None:
    """Make `statements`' functions after every migrate of `app`'s database (PostgreSQL)."""
    _REGISTERED.extend(statement for statement in statements if statement not in _REGISTERED)

    def receiver(*, using: str = "default", plan: object = None, **_: object) -> None:
        connection = connections[using]
        if connection.vendor != "postgresql" or not router.allow_migrate(using, app.label):
            return
        if plan is None and not missing(statements, using):
            return  # a flush (no migration plan) empties the tables and keeps the functions
        if not _schema_is_newest(using):
            return  # migrated back: the statements are written for the newest schema
        create_all(statements, using)

    post_migrate.connect(receiver, sender=app, weak=False, dispatch_uid=f"stored:{app.label}")


def _schema_is_newest(using: str) -> bool:
    executor = MigrationExecutor(connections[using])
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def stale(using: str = "default") -> list[str]:
    """The signatures of the functions in the database `using` made for an earlier text of a
    statement this version makes (`<name>_<12 hex digits>`, not its current name): what older app
    versions called. Sorted."""
    current = {statement.function_name for statement in _REGISTERED}
    stems = sorted({statement.name for statement in _REGISTERED})
    patterns = [f"^{re.escape(stem)}_[0-9a-f]{{{_HASH_DIGITS}}}$" for stem in stems]
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT p.oid::regprocedure::text, p.proname FROM pg_proc p"
            " WHERE p.pronamespace = current_schema()::regnamespace"
            " AND p.proname ~ ANY(%s) ORDER BY 1",
            [patterns],
        )
        return [signature for signature, name in cursor.fetchall() if name not in current]


def drop(signatures: Iterable[str], using: str = "default") -> None:
    """Drop the functions `stale` listed, in one transaction."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        for signature in signatures:
            # A regprocedure's text: the name and argument types, quoted as needed by PostgreSQL.
            cursor.execute(f"DROP FUNCTION IF EXISTS {signature}")
