"""Writing many rows at once: COPY on PostgreSQL, one prepared INSERT in batches elsewhere."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models

_BATCH = 10_000


def insert_rows(*, model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert plain rows fast: COPY on PostgreSQL, one prepared statement elsewhere (demo data, imports).

    `bulk_create` builds a model instance and prepares every value of every row, which is most of the
    time at this size; values here are already what the database stores (datetimes adapted by the caller).
    """
    quote = connection.ops.quote_name
    column_of = {field.name: field.column for field in model._meta.concrete_fields if field.column}
    columns = ", ".join(quote(column_of[name]) for name in fields)
    table = quote(model._meta.db_table)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == _BATCH:
                cursor.executemany(sql, batch)
                count, batch = count + len(batch), []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count
