"""One row by its primary key, with a statement built once: the hot reads' path on PostgreSQL.

`Model.objects.get(pk=key)` builds a QuerySet and a WHERE tree and compiles them into SQL on
every call: for `GET /products/{id}` that was ~0.9 M of the request's 2.7 M CPU instructions
(`make bench-layers`, PostgreSQL). The SQL is the same every time, so `KeyReader` builds it once
per model, and the row becomes an instance through `Model.from_db`, the documented hook for
loading a row. On PostgreSQL psycopg already returns each column as its field's Python type
(NUMERIC as Decimal, timestamptz as an aware datetime, in UTC as Django sets the connection), so
the ORM would convert nothing either; a field with a `from_db_value` of its own is refused at
start (`from_db_fields`, which orders/selectors.py's one-statement order read uses too). SQLite
returns NUMERIC as a float, which the ORM converts: there the reader is the ORM.
tests/services/test_by_key.py compares every field with the ORM's instance on both databases.
"""

from typing import Any, Generic, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def from_db_fields(model: type[models.Model]) -> list[models.Field]:
    """`model`'s concrete fields, in the order `Model.from_db` takes their values: refused (at
    start) when one converts the value the database returns, which a raw read would not do."""
    fields = list(model._meta.concrete_fields)
    converted = [field.name for field in fields if hasattr(field, "from_db_value")]
    if converted:
        raise TypeError(f"{model.__name__}: {converted} convert their values; use the ORM")
    return fields


class KeyReader(Generic[M]):
    """`get(key)`: the `model` row whose primary key is `key`, or None.

    With `owner_field`, `get(key, owner=x)` also requires that field to be `x` (None: any); with
    `for_update`, the row is locked (FOR UPDATE) until the caller's transaction ends.
    """

    def __init__(
        self, model: type[M], *, owner_field: str | None = None, for_update: bool = False
    ) -> None:
        fields = from_db_fields(model)
        self.model = model
        self._owner_field = owner_field
        self._for_update = for_update
        self._attnames = [field.attname for field in fields]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)
        pk = model._meta.pk
        assert pk is not None
        table = quote(model._meta.db_table)
        lock = " FOR UPDATE" if for_update else ""
        where = f"{quote(pk.column)} = %s"
        self._sql = f"SELECT {columns} FROM {table} WHERE {where}{lock}"
        self._owned_sql = ""
        if owner_field is not None:
            (owner_column,) = [f.column for f in fields if owner_field in (f.name, f.attname)]
            self._owned_sql = (
                f"SELECT {columns} FROM {table} WHERE {where} AND {quote(owner_column)} = %s{lock}"
            )

    def get(self, key: Any, *, owner: Any = None) -> M | None:
        if owner is not None and self._owner_field is None:
            raise TypeError("an owner needs a KeyReader made with owner_field")
        if connection.vendor != "postgresql":
            rows = self.model._default_manager.filter(pk=key)
            if owner is not None:
                rows = rows.filter(**{self._owner_field: owner})  # type: ignore[misc]
            if self._for_update:
                rows = rows.select_for_update()
            return rows.first()
        with connection.cursor() as cursor:
            if owner is None:
                cursor.execute(self._sql, [key])
            else:
                cursor.execute(self._owned_sql, [key, owner])
            row = cursor.fetchone()
        if row is None:
            return None
        return self.model.from_db(connection.alias, self._attnames, row)
