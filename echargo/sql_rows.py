"""Model instances from rows of hand-written SQL, converted exactly as the ORM converts them.

The few lookups every partner request runs (credentials token, a tapped driver token) are
written as SQL because compiling their querysets cost more than running them. RawQuerySet
still maps columns to fields by name on every call; these helpers take the columns in model
field order instead, and apply the same converters the ORM applies (SQLite returns dates as
text and JSON as strings; PostgreSQL needs almost none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections
from django.db.models import Field, Model


def select_list(alias: str, fields: Sequence[Field]) -> str:
    """`alias."column", ...` for `fields`, to put in a SELECT (model metadata only)."""
    return ", ".join(f'{alias}."{f.column}"' for f in fields)


def instance_from_row(
    model: type[Model], fields: Sequence[Field], values: Sequence[Any], using: str = "default"
) -> Model:
    """An instance of `model` from the `values` of `fields` (model field order, any subset:
    the rest load on first access, as with `.only()`)."""
    connection = connections[using]
    ops = connection.ops
    converted = []
    for field, value in zip(fields, values, strict=True):
        column = field.get_col(model._meta.db_table)
        for convert in ops.get_db_converters(column) + field.get_db_converters(connection):
            value = convert(value, column, connection)
        converted.append(value)
    return model.from_db(using, [f.attname for f in fields], converted)
