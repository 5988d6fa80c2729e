"""Token reads: the list our eMSP side serves, and the one-index lookups of a tap."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Avg, Count, Max, Q, QuerySet

from apps.partners.models import PartnerConnection, Party, Role
from echargo.db.sql_rows import RowReader, instances_from_row
from echargo.ocpi.routing import ci

from .models import AuthorizationDecision, Token


def token_list_own() -> QuerySet[Token]:
    """Tokens of the eMSP parties we host (what our tokens Sender interface serves)."""
    return Token.objects.filter(owner__is_own=True, owner__role=Role.EMSP)


@cache
def _own_tap_lookup() -> tuple[str, RowReader]:
    token = RowReader(Token)
    sql = (
        f"SELECT {token.select_list('t')} FROM {Token._meta.db_table} t"  # noqa: S608
        f" JOIN {Party._meta.db_table} p ON p.id = t.owner_id"
        " WHERE t.uid_key = %s AND t.type = %s AND p.is_own AND p.role = 'EMSP' LIMIT 1"
    )
    return sql, token


def token_own_for_tap(*, uid: str, type: str) -> Token | None:
    """Our driver's token by uid (case-insensitive) and type: one indexed lookup.

    Written as SQL because it runs on every authorization a partner asks of us; the ORM's
    query compilation costs more than the index lookup itself.
    """
    sql, token = _own_tap_lookup()
    with connection.cursor() as cursor:
        cursor.execute(sql, [ci(uid), type])
        row = cursor.fetchone()
    return None if row is None else token.instance(row)


@cache
def _partner_tap_lookup() -> tuple[str, RowReader, RowReader, RowReader]:
    token, party, partner = RowReader(Token), RowReader(Party), RowReader(PartnerConnection)
    sql = (
        f"SELECT {token.select_list('t')}, {party.select_list('p')}, "  # noqa: S608
        f"{partner.select_list('c')} FROM {Token._meta.db_table} t"
        f" JOIN {Party._meta.db_table} p ON p.id = t.owner_id"
        f" LEFT JOIN {PartnerConnection._meta.db_table} c ON c.id = p.connection_id"
        " WHERE t.uid_key = %s AND t.type = %s AND NOT p.is_own"
        " ORDER BY t.last_updated DESC, t.id DESC LIMIT 1"
    )
    return sql, token, party, partner


def token_partner_for_tap(*, uid: str, type: str) -> Token | None:
    """A partner's token as a tap at our station presents it (newest if two eMSPs share a uid),
    with its owner party and the party's connection: one indexed lookup, as SQL (see
    token_own_for_tap)."""
    sql, token_reader, party_reader, connection_reader = _partner_tap_lookup()
    with connection.cursor() as cursor:
        cursor.execute(sql, [ci(uid), type])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(row) - connection_reader.width
    token, owner = instances_from_row((token_reader, party_reader), row[:split])
    # A party without a connection (LEFT JOIN): its columns are all NULL, not a connection.
    owner.connection = (
        None if owner.connection_id is None else connection_reader.instance(row[split:])
    )
    token.owner = owner
    return token


def token_of_partner(*, owner: Party, uid: str, type: str) -> Token | None:
    return Token.objects.filter(owner=owner, uid_key=ci(uid), type=type).first()


def cpo_partners_taking_tokens() -> list[PartnerConnection]:
    """Connected CPO partners that take our tokens by push."""
    connections = PartnerConnection.objects.filter(
        status=PartnerConnection.Status.CONNECTED, parties__role=Role.CPO
    ).distinct()
    return [c for c in connections if c.endpoint_url("tokens", "RECEIVER")]


def authorization_summary_per_partner(*, since: dt.datetime) -> list[dict[str, Any]]:
    """Decisions per partner and side since a time: count, allowed, fallbacks, latency."""
    return list(
        AuthorizationDecision.objects.filter(created_at__gte=since)
        .values("connection__name", "side")
        .annotate(
            decisions=Count("id"),
            allowed_count=Count("id", filter=Q(allowed="ALLOWED")),
            fallbacks=Count("id", filter=Q(source__in=["fallback", "unavailable"])),
            avg_ms=Avg("latency_ms"),
            max_ms=Max("latency_ms"),
        )
        .order_by("connection__name", "side")
    )
