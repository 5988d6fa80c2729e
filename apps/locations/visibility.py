"""Which eMSP parties see a location of ours that is not published (OCPI 2.2.1 publish_allowed_to).

OCPI 2.2.1 mod_locations: with `publish` false, "only owners of Tokens that match all the set
fields of one PublishToken in the list are allowed to be shown this location". Our CPO sender
serves eMSP parties, not drivers, so a location is served to a partner eMSP party when
- one of its drivers' tokens we hold (pushed or pulled, apps.tokens) matches every field an entry
  sets: uid and group_id case-insensitively (CiString), type, visual_number and issuer exactly
  (string). An entry that breaks the PublishTokenType rules (uid without type, visual_number
  without issuer, none of uid / visual_number / group_id) names no token; or
- an entry's `issuer` is the party's business name (as in the spec's examples, e.g.
  "NewMotion") or its "CC*PID" key: we may not hold that eMSP's tokens at all.
The eMSP then shows it to its matching drivers only. A token's `valid` plays no part: it says
whether the token may charge, not who may be shown a location (a blocked card's holder still
sees the home charger that is theirs), and OCPI never deletes a token.

The parties are stored in Location.visible_to and the entries as PublishToken rows:
- a change of our location recomputes both (`visibility_refresh`);
- a partner token stored looks up, by index, only the entries its uid, group_id or
  visual_number could match, now and before the change, gives its eMSP the locations it matches
  and re-checks the ones it matched before (`visibility_follow_token`); a token stored again
  with the same values costs no query;
- a partner eMSP party appearing or being renamed re-checks the issuer rule for that party.
A party that comes to see a location this way gets it pushed (PUT) when it takes pushes.

Imports run from locations to tokens (models and the `partner_token_stored` signal): the tokens
app, whose authorization path must stay lean, knows nothing of locations, as with partners'
Party saves.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from typing import Any

from django.db.models import Q

from apps.partners.models import Party, Role
from apps.tokens.models import Token
from echargo.ocpi.routing import ci

from .models import Location, PublishToken
from .push import location_push_to

_PARTY_KEY = re.compile(r"^([A-Za-z]{2})\*([A-Za-z0-9]{3})$")
_FIELDS = ("uid_key", "type", "visual_number", "issuer", "group_key")
# Entries per token query when one party's tokens are checked against many locations.
_CHUNK = 500

VisibleTo = Location.visible_to.through


@dataclass(frozen=True)
class TokenKeys:
    """A token, or a publish_allowed_to entry, in lookup form ('' = not set)."""

    uid_key: str
    type: str
    visual_number: str
    issuer: str
    group_key: str

    @classmethod
    def of_token(cls, token: Token) -> TokenKeys:
        return cls(
            ci(token.uid),
            token.type,
            token.visual_number or "",
            token.issuer or "",
            ci(token.group_id or ""),
        )

    @classmethod
    def of_entry(cls, entry: Any) -> TokenKeys | None:
        """A PublishTokenType entry; None when it names no token by the spec's rules."""
        if not isinstance(entry, dict):
            return None
        keys = cls(
            ci(_text(entry, "uid")),
            _text(entry, "type"),
            _text(entry, "visual_number"),
            _text(entry, "issuer"),
            ci(_text(entry, "group_id")),
        )
        if not (keys.uid_key or keys.visual_number or keys.group_key):
            return None
        if (keys.uid_key and not keys.type) or (keys.visual_number and not keys.issuer):
            return None
        return keys

    def matches(self, token: TokenKeys) -> bool:
        """This entry's set fields all equal the token's."""
        return (
            (not self.uid_key or self.uid_key == token.uid_key)
            and (not self.type or self.type == token.type)
            and (not self.visual_number or self.visual_number == token.visual_number)
            and (not self.issuer or self.issuer == token.issuer)
            and (not self.group_key or self.group_key == token.group_key)
        )


def _text(entry: dict[str, Any], name: str) -> str:
    value = entry.get(name)
    return value if isinstance(value, str) else ""


def entry_keys(entries: Iterable[Any]) -> list[TokenKeys]:
    """The token descriptions of a publish_allowed_to list, without repeats."""
    return list(dict.fromkeys(k for k in map(TokenKeys.of_entry, entries) if k is not None))


def _token_condition(entries: Iterable[TokenKeys]) -> Q:
    """Tokens matching one of the entries; every branch can use an index on Token."""
    condition = Q()
    for entry in entries:
        branch = Q()
        if entry.uid_key:
            branch &= Q(uid_key=entry.uid_key)
        if entry.type:
            branch &= Q(type=entry.type)
        if entry.visual_number:
            branch &= Q(visual_number=entry.visual_number)
        if entry.issuer:
            branch &= Q(issuer=entry.issuer)
        if entry.group_key:
            # The partial index token_group covers non-empty group_ids only: say so.
            branch &= Q(group_id__iexact=entry.group_key) & ~Q(group_id="")
        condition |= branch
    return condition


def _partner_tokens() -> Any:
    return Token.objects.filter(owner__is_own=False, owner__role=Role.EMSP)


def _token_owners(entries: list[TokenKeys]) -> set[int]:
    """Partner eMSP parties holding a token that matches one of the entries."""
    if not entries:
        return set()
    owners = _partner_tokens().filter(_token_condition(entries)).values_list("owner_id", flat=True)
    return set(owners.distinct())


def _names(entries: Iterable[Any], party: Party) -> bool:
    """Whether an entry's issuer is this party's business name or its CC*PID key."""
    for entry in entries:
        issuer = _text(entry, "issuer").strip() if isinstance(entry, dict) else ""
        if not issuer:
            continue
        if party.name and issuer.upper() == party.name.strip().upper():
            return True
        key = _PARTY_KEY.match(issuer)
        if key and (key[1].upper(), key[2].upper()) == (party.country_code, party.party_id):
            return True
    return False


def parties_named_in(entries: list[dict[str, Any]]) -> list[Party]:
    """Partner eMSP parties an entry of publish_allowed_to names through its issuer."""
    condition = Q()
    for entry in entries:
        issuer = _text(entry, "issuer").strip() if isinstance(entry, dict) else ""
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
    """Recompute which partner eMSP parties may see this location of ours, and its entries.

    Call with the location locked, after a change of it (publish, publish_allowed_to)."""
    entries = [] if location.publish else list(location.publish_allowed_to or [])
    keys = entry_keys(entries)
    PublishToken.objects.filter(location=location).delete()
    if keys:
        PublishToken.objects.bulk_create(
            PublishToken(location=location, **dict(zip(_FIELDS, astuple(k), strict=True)))
            for k in keys
        )
    parties = {p.pk for p in parties_named_in(entries)} | _token_owners(keys)
    location.visible_to.set(parties)


def _matched_by_tokens(party: Party, entries_of: dict[int, list[TokenKeys]]) -> set[int]:
    """The locations (keys of `entries_of`) one of the party's tokens matches an entry of."""
    wanted = list(dict.fromkeys(k for keys in entries_of.values() for k in keys))
    by_key: dict[tuple[str, str], list[TokenKeys]] = defaultdict(list)
    for start in range(0, len(wanted), _CHUNK):
        rows = (
            Token.objects.filter(_token_condition(wanted[start : start + _CHUNK]), owner=party)
            .values_list("uid_key", "type", "visual_number", "issuer", "group_id")
            .distinct()
        )
        for uid_key, type_, visual_number, issuer, group_id in rows:
            held = TokenKeys(uid_key, type_, visual_number, issuer, ci(group_id))
            by_key["uid", held.uid_key].append(held)
            if held.group_key:
                by_key["group", held.group_key].append(held)
            if held.visual_number:
                by_key["visual", held.visual_number].append(held)
    matched = set()
    for location_id, keys in entries_of.items():
        for entry in keys:
            # Every entry sets one of these three (TokenKeys.of_entry); look up by the first.
            if entry.uid_key:
                held = by_key.get(("uid", entry.uid_key), [])
            elif entry.group_key:
                held = by_key.get(("group", entry.group_key), [])
            else:
                held = by_key.get(("visual", entry.visual_number), [])
            if any(entry.matches(token) for token in held):
                matched.add(location_id)
                break
    return matched


def _grant(party: Party, location_ids: set[int]) -> None:
    """Let the party see these restricted locations; push the ones new to it."""
    if not location_ids:
        return
    have = VisibleTo.objects.filter(party=party, location_id__in=location_ids)
    new = location_ids - set(have.values_list("location_id", flat=True))
    if not new:
        return
    VisibleTo.objects.bulk_create(
        [VisibleTo(location_id=pk, party_id=party.pk) for pk in sorted(new)],
        ignore_conflicts=True,
    )
    location_push_to(party.connection, Location.objects.filter(pk__in=new).order_by("pk"))


def _revoke_unless_allowed(party: Party, location_ids: set[int]) -> None:
    """Hide these restricted locations from the party unless an issuer or a token of its
    still matches. No push: the partner holds them with publish false already."""
    if not location_ids:
        return
    rows = Location.objects.filter(pk__in=location_ids).values_list("pk", "publish_allowed_to")
    keep, entries_of = set(), {}
    for pk, entries in rows:
        if _names(entries, party):
            keep.add(pk)
        else:
            entries_of[pk] = entry_keys(entries)
    keep |= _matched_by_tokens(party, entries_of)
    VisibleTo.objects.filter(party=party, location_id__in=location_ids - keep).delete()


def _lookup(tokens: Iterable[TokenKeys]) -> Q:
    """PublishToken rows one of these tokens could match: by uid, group_id or visual_number."""
    condition = Q()
    for token in tokens:
        condition |= Q(uid_key=token.uid_key)
        if token.group_key:
            condition |= Q(group_key=token.group_key)
        if token.visual_number:
            condition |= Q(visual_number=token.visual_number)
    return condition


def visibility_follow_token(*, token: Token, before: Token | None) -> None:
    """A partner's token was stored: its eMSP sees the restricted locations the token now
    matches, and the ones it matched before are re-checked (uid, group_id, visual_number or
    issuer changed). Precondition: `token` belongs to a partner's eMSP party."""
    now = TokenKeys.of_token(token)
    then = None if before is None else TokenKeys.of_token(before)
    if now == then:
        return
    rows = PublishToken.objects.filter(_lookup([now] if then is None else [now, then]))
    gained, lost = set(), set()
    for location_id, *fields in rows.values_list("location_id", *_FIELDS):
        entry = TokenKeys(*fields)
        if entry.matches(now):
            gained.add(location_id)
        elif then is not None and entry.matches(then):
            lost.add(location_id)
    lost -= gained
    if not (gained or lost):
        return
    party = Party.objects.select_related("connection").get(pk=token.owner_id)
    _grant(party, gained)
    _revoke_unless_allowed(party, lost)


def refresh_for_party(party: Party) -> None:
    """A partner eMSP party appeared or changed its name: re-check the issuer rule for it."""
    if party.is_own or party.role != Role.EMSP:
        return
    restricted = dict(
        Location.objects.filter(own_cpo=True, publish=False)
        .exclude(publish_allowed_to=[])
        .values_list("pk", "publish_allowed_to")
    )
    if not restricted:
        return
    named = {pk for pk, entries in restricted.items() if _names(entries, party)}
    visible = set(
        VisibleTo.objects.filter(
            party=party, location__own_cpo=True, location__publish=False
        ).values_list("location_id", flat=True)
    )
    _grant(party, named)
    _revoke_unless_allowed(party, visible - named)


def on_party_saved(sender: type[Party], instance: Party, **kwargs: Any) -> None:
    refresh_for_party(instance)


def on_partner_token_stored(
    sender: type[Token], token: Token, before: Token | None, **kwargs: Any
) -> None:
    visibility_follow_token(token=token, before=before)
