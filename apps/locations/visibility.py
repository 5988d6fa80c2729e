"""Which eMSP parties see a location that is not published (OCPI 2.2.1 publish_allowed_to).

OCPI describes publish_allowed_to as token descriptions (PublishTokenType: uid, type,
visual_number, issuer, group_id): the drivers holding such tokens may see the location. Our
CPO sender serves eMSP parties, not drivers, so an entry is resolved to the eMSP parties it
names: an entry whose `issuer` is the party's business name (as in the spec's examples, e.g.
"NewMotion") or its "CC*PID" key. The result is stored in Location.visible_to and recomputed
when the location changes or a partner party appears or is renamed.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Q

from apps.partners.models import Party, Role

from .models import Location

_PARTY_KEY = re.compile(r"^([A-Za-z]{2})\*([A-Za-z0-9]{3})$")


def parties_named_in(entries: list[dict[str, Any]]) -> list[Party]:
    """Partner eMSP parties an entry of publish_allowed_to names through its issuer."""
    condition = Q()
    for entry in entries:
        issuer = (entry.get("issuer") or "").strip()
        if not issuer:
            continue
        condition |= Q(name__iexact=issuer)
        key = _PARTY_KEY.match(issuer)
        if key:
            condition |= Q(country_code=key[1].upper(), party_id=key[2].upper())
    if not condition:
        return []
    return list(Party.objects.filter(condition, is_own=False, role=Role.EMSP))


def visibility_refresh(location: Location) -> None:
    """Recompute which partner eMSP parties may see this location while it is not published."""
    parties = [] if location.publish else parties_named_in(location.publish_allowed_to)
    location.visible_to.set(parties)


def refresh_for_party(party: Party) -> None:
    """A partner eMSP party appeared or changed its name: re-resolve our restricted locations."""
    if party.is_own or party.role != Role.EMSP:
        return
    for location in Location.objects.filter(owner__is_own=True, publish=False):
        if location.publish_allowed_to:
            visibility_refresh(location)


def on_party_saved(sender: type[Party], instance: Party, **kwargs: Any) -> None:
    refresh_for_party(instance)
