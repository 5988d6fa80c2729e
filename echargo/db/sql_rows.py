"""Model instances from rows of hand-written SQL, converted exactly as the ORM converts them.

The few lookups every partner request runs (credentials token, a tapped driver token) are
written as SQL because compiling their querysets cost more than running them. RawQuerySet
still maps columns to fields by name on every call; a RowReader takes the columns in model
field order instead, and applies the same converters the ORM applies (SQLite returns dates as
text and JSON as strings; PostgreSQL needs almost none).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Field, Model
from django.db.models.expressions import Col

M = TypeVar("M", bound=Model)


class RowReader(Generic[M]):
    """Reads instances of `model` from the columns of `fields` (model field order, any subset:
    the rest load on first access, as with `.only()`).

    Build one per lookup, once, and keep it with the lookup's SQL: asking every field for its
    column and converters on every row cost as much as the query on the authorization path.
    """

    def __init__(
        self, model: type[M], fields: Iterable[Field] | None = None, using: str = "default"
    ) -> None:
        self.model = model
        self.fields = tuple(model._meta.concrete_fields if fields is None else fields)
        self.width = len(self.fields)
        self.using = using
        self._attnames = [f.attname for f in self.fields]
        # Converters depend on the field and the database backend only, not on a connection's
        # state: for each field that has any, (position, column, converters).
        connection = connections[using]
        self._plan: list[tuple[int, Col, list]] = []
        for index, field in enumerate(self.fields):
            column = field.get_col(model._meta.db_table)
            converters = connection.ops.get_db_converters(column) + field.get_db_converters(
                connection
            )
            if converters:
                self._plan.append((index, column, converters))

    def select_list(self, alias: str) -> str:
        """`alias."column", ...` of this reader's fields, to put in a SELECT."""
        # Only model metadata goes into it: values stay bound parameters of the query.
        return ", ".join(f'{alias}."{f.column}"' for f in self.fields)

    def instance(self, values: Sequence[Any]) -> M:
        """The instance whose field values are `values`, exactly `width` of them."""
        if len(values) != self.width:
            raise ValueError(f"{self.width} fields but {len(values)} values")
        connection = connections[self.using]
        converted = list(values)
        for index, column, converters in self._plan:
            value = converted[index]
            for convert in converters:
                value = convert(value, column, connection)
            converted[index] = value
        return self.model.from_db(self.using, self._attnames, converted)


def instances_from_row(readers: Sequence[RowReader[Any]], row: Sequence[Any]) -> list[Any]:
    """One instance per reader from a row that holds their columns side by side (a JOIN)."""
    instances, start = [], 0
    for reader in readers:
        instances.append(reader.instance(row[start : start + reader.width]))
        start += reader.width
    if start != len(row):
        raise ValueError(f"{start} columns read but the row has {len(row)}")
    return instances
