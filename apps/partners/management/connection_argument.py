"""The one way every management command reads a connection named on its command line."""

from __future__ import annotations

from django.core.management.base import CommandError

from apps.partners.models import PartnerConnection
from apps.partners.selectors import ConnectionNotFound, connection_by_reference

HELP = "Connection id (12 or #12) or name (any case)."


def connection_argument(reference: str) -> PartnerConnection:
    """The connection `reference` names; CommandError naming the candidates if not exactly one."""
    try:
        return connection_by_reference(reference)
    except ConnectionNotFound as exc:
        raise CommandError(str(exc)) from exc
