"""Model instances from rows of hand-written SQL, converted exactly as the ORM converts them.

The few lookups every partner request runs (credentials token, a tapped driver token) are
written as SQL because compiling their querysets cost more than running them. RawQuerySet
still maps columns to fields by name on every call; these helpers take the columns in model
field order instead, and apply the same converters the ORM applies (SQLite returns dates as
text and JSON as strings; PostgreSQL needs almost none).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connections
from django.db.models import Field, Model
from django.db.models.expressions import Col


def select_list(alias: str, fields: Sequence[Field]) -> str:
    """`alias."column", ...` for `fields`, to put in a SELECT (model metadata only)."""
    return ", ".join(f'{alias}."{f.column}"' for f in fields)


def instance_from_row(
    model: type[Model], fields: Sequence[Field], values: Sequence[Any], using: str = "default"
) -> Model:
    """An instance of `model` from the `values` of `fields` (model field order, any subset:
    the rest load on first access, as with `.only()`)."""
    connection = connections[using]
    fields = tuple(fields)
    attnames, plan = _conversion_plan(model, fields, using)
    converted = list(values)
    if len(converted) != len(fields):
        raise ValueError(f"{len(fields)} fields but {len(converted)} values")
    for index, column, converters in plan:
        value = converted[index]
        for convert in converters:
            value = convert(value, column, connection)
        converted[index] = value
    return model.from_db(using, attnames, converted)


@cache
def _conversion_plan(
    model: type[Model], fields: tuple[Field, ...], using: str
) -> tuple[list[str], list[tuple[int, Col, list]]]:
    """Attnames, and for each field that has converters: (position, column, converters).

    Built once per field list: asking every field for its column and converters on every row
    cost as much as the query on the authorization path. The converters depend on the field
    and the database backend only, not on a connection's state.
    """
    connection = connections[using]
    plan = []
    for index, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if converters:
            plan.append((index, column, converters))
    return [f.attname for f in fields], plan
