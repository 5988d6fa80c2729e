"""Our sessions sent to the eMSP of the driver's token (OCPI 2.2.1 mod_sessions, CPO side).

A session on our charger with a partner's token is PUT to that eMSP's sessions Receiver when it
starts and whenever its charging periods change shape (a period closes: charging/parking, the
stop), and PATCHed with kwh, total_cost, status and last_updated on every meter reading. A PATCH
never carries charging_periods: the receiver *appends* what a PATCH carries (mod_sessions,
Receiver PATCH: "the charging_periods ... are appended"), while our open period grows in place,
so its changes travel in the next PUT, which replaces the list. The outbox coalesces readings: a
PATCH merges into a pending PATCH, and a PUT supersedes what is pending.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from apps.partners.models import PartnerConnection, Party, Role
from apps.partners.outbox import outbox_enqueue
from echargo.ocpi.routing import ci

from .models import Session
from .wire import session_document

MODULE = "sessions"
# What a meter reading changes on the wire.
READING_FIELDS = ("kwh", "total_cost", "status", "last_updated")


def session_receiver_path(session: Session) -> str:
    """The session's URL tail at an eMSP's sessions Receiver."""
    return "/".join(
        quote(part, safe="")
        for part in (session.country_code, session.party_id, session.session_id)
    )


def session_audience(session: Session) -> PartnerConnection | None:
    """The connection of the token's eMSP, when it is a partner with a sessions Receiver."""
    party = (
        Party.objects.select_related("connection")
        .filter(
            country_code=ci(session.token_country_code),
            party_id=ci(session.token_party_id),
            role=Role.EMSP,
            is_own=False,
            connection__status=PartnerConnection.Status.CONNECTED,
        )
        .first()
    )
    connection = party.connection if party is not None else None
    if connection is None or not connection.endpoint_url(MODULE, "RECEIVER"):
        return None
    return connection


def session_push(session: Session, *, whole: bool) -> bool:
    """Queue one of our sessions for its eMSP: the whole document (PUT) or the reading fields
    (PATCH). Call inside the transaction that changed it; whether a partner was to be told."""
    connection = session_audience(session)
    if connection is None:
        return False
    document = session_document(session)
    body: dict[str, Any] = (
        document if whole else {k: document[k] for k in READING_FIELDS if k in document}
    )
    outbox_enqueue(
        connection=connection,
        module=MODULE,
        object_key=session_receiver_path(session),
        method="PUT" if whole else "PATCH",
        path=session_receiver_path(session),
        body=body,
        to_party=(session.token_country_code, session.token_party_id),
    )
    return True
