"""Our tariffs published to partners: every eMSP partner with a tariffs Receiver takes every
tariff of our CPO parties, through the outbox, in the transaction that changed the tariff."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from apps.partners.models import PartnerConnection
from apps.partners.outbox import outbox_enqueue

from . import selectors
from .models import Tariff

MODULE = "tariffs"


def tariff_receiver_path(country_code: str, party_id: str, tariff_id: str) -> str:
    """The tariff's URL tail at an eMSP's tariffs Receiver."""
    return f"{quote(country_code, safe='')}/{quote(party_id, safe='')}/{quote(tariff_id, safe='')}"


def tariff_push(
    tariff: Tariff, *, method: str, body: dict[str, Any] | None
) -> list[PartnerConnection]:
    """Queue `method` (PUT with the document, DELETE) of `tariff` for every eMSP partner."""
    owner = tariff.owner
    connections = selectors.tariff_push_connections()
    for connection in connections:
        outbox_enqueue(
            connection=connection,
            module=MODULE,
            object_key=tariff.object_key,
            method=method,
            path=tariff_receiver_path(owner.country_code, owner.party_id, tariff.tariff_id),
            body=body,
        )
    return connections
