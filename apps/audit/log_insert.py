"""One-statement inserts for append-only log tables written on every partner request.

The exchange log and the authorization decisions get a row per OCPI call. `Model.objects.create`
builds a model instance, fires save signals and compiles the INSERT each time; on the
authorization path that costs as much CPU as the rest of the request. Log rows have no signal
receivers, no history and nobody reads them back in the request, so they are written with one
INSERT per model, compiled once from the model's fields (it follows the model: no column list
to keep in step by hand). Values are still converted by each field (`get_db_prep_save`), so
JSON, dates and decimals reach PostgreSQL and SQLite exactly as the ORM would send them.

Not for tables with signal receivers (simple-history, outbox hooks): those need `save()`.
Apps log through `apps.audit.log_writer.log_append`, which queues rows for the writer thread or,
with AUDIT_LOG_FLUSH_SECONDS=0, calls `append_row`; the writer reuses `insert_plan`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connections, models, router


@cache
def insert_plan(model: type[models.Model]) -> tuple[str, tuple[models.Field, ...]]:
    fields = tuple(
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and isinstance(f, models.AutoField))
    )
    table = model._meta.db_table
    columns = ", ".join(f'"{f.column}"' for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f'INSERT INTO "{table}" ({columns}) VALUES ({placeholders})'  # noqa: S608 (model metadata)
    return sql, fields


def append_row(model: type[models.Model], **values: Any) -> None:
    """Insert one row of `model`; fields left out take their default, as `Model()` gives them.

    `values` are keyed by attname (`connection_id`, not `connection`). auto_now(_add) fields
    are not filled in: pass them.
    """
    sql, fields = insert_plan(model)
    alias = router.db_for_write(model)
    connection = connections[alias]
    params = [
        f.get_db_prep_save(
            values.pop(f.attname) if f.attname in values else f.get_default(), connection
        )
        for f in fields
    ]
    if values:
        raise TypeError(f"Unknown {model.__name__} fields: {', '.join(sorted(values))}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
