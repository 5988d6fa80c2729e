"""Admin search that matches the way Turkish staff type: "istanbul" finds "İstanbul", "sisli"
finds "Şişli", "IZMIR" finds "İzmir", and the other way round.

Django's `icontains` folds case with the database's rules: SQLite's lower() folds ASCII only and
PostgreSQL's follows the collation, and neither maps dotted/dotless I (İ/ı) or drops accents. So
both sides are folded here with one table, the same on every database: the column in SQL
(`Folded`) and the search term in Python (`fold_text`). No stored column, so nothing to keep in
sync or migrate; the cost is a scan, which `icontains` ("%term%") pays anyway.
"""

from __future__ import annotations

import unicodedata
from functools import reduce
from typing import Any

from django.contrib.admin.utils import lookup_spawns_duplicates
from django.db.models import F, Func, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import HttpRequest

# Every letter that LOWER would not fold alike on both databases, mapped to what staff type on
# a keyboard without it. Upper and lower case are both listed because SQLite's LOWER is ASCII-only.
FOLD = {
    "İ": "i",
    "I": "i",
    "ı": "i",
    "Ç": "c",
    "ç": "c",
    "Ş": "s",
    "ş": "s",
    "Ğ": "g",
    "ğ": "g",
    "Ü": "u",
    "ü": "u",
    "Ö": "o",
    "ö": "o",
    "Â": "a",
    "â": "a",
    "Î": "i",
    "î": "i",
    "Û": "u",
    "û": "u",
    "É": "e",
    "é": "e",
    "È": "e",
    "è": "e",
    "Ê": "e",
    "ê": "e",
    "Ë": "e",
    "ë": "e",
    "Á": "a",
    "á": "a",
    "À": "a",
    "à": "a",
    "Ä": "a",
    "ä": "a",
    "Ï": "i",
    "ï": "i",
    "Ó": "o",
    "ó": "o",
    "Ô": "o",
    "ô": "o",
    "Ú": "u",
    "ú": "u",
    "Ñ": "n",
    "ñ": "n",
}


def fold_text(text: str) -> str:
    """The search term folded as `Folded` folds a column (NFC first: a pasted "i̇" is one letter)."""
    text = unicodedata.normalize("NFC", text)
    return "".join(FOLD.get(char, char) for char in text).lower()


class Folded(Func):
    """The column folded in SQL as `fold_text` folds the term (see the module docstring).

    PostgreSQL: one TRANSLATE with the table, then LOWER. SQLite has no TRANSLATE (and nested
    REPLACEs overflow its parser), so it calls `fold_text` itself, registered on the connection.
    """

    output_field = TextField()

    def __init__(self, field: str) -> None:
        super().__init__(Cast(F(field), output_field=TextField()))

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="LOWER(TRANSLATE(%(expressions)s, %(source)s, %(target)s))",
            source=_quoted("".join(FOLD)),
            target=_quoted("".join(FOLD.values())),
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        connection.ensure_connection()
        connection.connection.create_function("ECHARGO_FOLD", 1, _fold_or_none, deterministic=True)
        return self.as_sql(compiler, connection, function="ECHARGO_FOLD", **extra)


def _quoted(text: str) -> str:
    # Constant letters of FOLD only (no quote among them), so inlining them is safe.
    return "'" + text + "'"


def _fold_or_none(text: str | None) -> str | None:
    return None if text is None else fold_text(text)


class FoldedSearchMixin:
    """ModelAdmin mixin: `search_fields` searched with `fold_text` on both sides.

    Each word of the term must be found in at least one field (as Django's own search does).
    Fields prefixed "=" still match exactly; "^" and "@" are treated as plain "contains".
    """

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        fields = list(self.get_search_fields(request))  # type: ignore[attr-defined]
        words = [fold_text(word) for word in search_term.split()]
        if not fields or not words:
            return queryset, False
        aliases = {}
        exact = []
        for index, field in enumerate(fields):
            if field.startswith("="):
                exact.append(field[1:])
                continue
            aliases[f"_folded_{index}"] = Folded(field.lstrip("^@"))
        queryset = queryset.alias(**aliases)
        for word, raw in zip(words, search_term.split(), strict=True):
            matches = [Q(**{f"{alias}__contains": word}) for alias in aliases]
            matches += [Q(**{f"{field}__iexact": raw}) for field in exact]
            queryset = queryset.filter(reduce(lambda a, b: a | b, matches))
        opts = queryset.model._meta
        duplicates = any(lookup_spawns_duplicates(opts, field.lstrip("=^@")) for field in fields)
        return queryset, duplicates
