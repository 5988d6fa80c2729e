"""An unpublished location of ours is served to the partner eMSPs holding a token its
publish_allowed_to describes (OCPI 2.2.1 PublishTokenType: every field an entry sets matches),
and follows those tokens as partners push, change or we pull them.

Bosphorus (TR*BOS) and Anatolia (TR*ANA, which takes location pushes) are eMSP partners; they
push their drivers' tokens to our CPO tokens Receiver.
"""

from __future__ import annotations

import json

import pytest

from apps.locations.models import Location, PublishToken
from apps.locations.services import location_patch_own
from apps.locations.visibility import visibility_follow_token
from apps.partners.models import OutboxMessage, Party
from apps.tokens.models import Token
from apps.tokens.services import token_retire_unlisted, token_store_pulled
from tests.factories.locations import own_location

pytestmark = pytest.mark.django_db

LOCATIONS = "/ocpi/cpo/2.2.1/locations"
TOKENS = "/ocpi/cpo/2.2.1/tokens"


def token_body(party_id="BOS", uid="HOME-CARD-1", **overrides):
    body = {
        "country_code": "TR",
        "party_id": party_id,
        "uid": uid,
        "type": "RFID",
        "contract_id": f"TR-{party_id}-C0001",
        "issuer": "Bosphorus Cards",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2026-11-01T10:00:00Z",
    }
    return body | overrides


def push_token(api, caller, body):
    url = f"{TOKENS}/{body['country_code']}/{body['party_id']}/{body['uid']}?type={body['type']}"
    response = api.as_token(caller).put(url, body, format="json")
    assert response.json()["status_code"] == 1000, response.content
    return response


def patch_token(api, caller, uid, changes, party_id="BOS"):
    body = {"last_updated": "2026-11-02T10:00:00Z", **changes}
    response = api.as_token(caller).patch(f"{TOKENS}/TR/{party_id}/{uid}", body, format="json")
    assert response.json()["status_code"] == 1000, response.content


def served(api, caller, location_id):
    """(in the list, single GET answers 200) for this caller."""
    client = api.as_token(caller)
    listed = [loc["id"] for loc in client.get(LOCATIONS).json()["data"]]
    return location_id in listed, client.get(f"{LOCATIONS}/{location_id}").status_code == 200


def visible_to(location):
    parties = Location.objects.get(pk=location.pk).visible_to.values_list("party_id", flat=True)
    return sorted(parties)


def restricted(cpo, location_id, *entries):
    return own_location(cpo, id=location_id, publish=False, publish_allowed_to=list(entries))


@pytest.fixture
def partners(bosphorus, anatolia_receives):
    return bosphorus, anatolia_receives


def test_location_restricted_to_a_token_uid_is_served_only_to_the_emsp_holding_it(
    api, cpo, partners
):
    push_token(api, "bosphorus-token", token_body(uid="Home-Card-1"))
    # uid is a CiString: the entry may spell it in another case.
    home = restricted(cpo, "HOME", {"uid": "HOME-CARD-1", "type": "RFID"})

    assert visible_to(home) == ["BOS"]
    assert served(api, "bosphorus-token", "HOME") == (True, True)
    assert served(api, "anatolia-token", "HOME") == (False, False)


def test_an_entry_with_uid_matches_only_a_token_of_its_type(api, cpo, partners):
    push_token(api, "bosphorus-token", token_body(uid="APP-42", type="RFID"))
    location = restricted(cpo, "APP", {"uid": "APP-42", "type": "APP_USER"})
    assert visible_to(location) == []
    push_token(api, "bosphorus-token", token_body(uid="APP-42", type="APP_USER"))
    assert visible_to(location) == ["BOS"]


def test_group_id_entry_shows_the_location_to_every_emsp_with_a_token_in_the_group(
    api, cpo, partners
):
    push_token(api, "bosphorus-token", token_body(uid="FLEET-A", group_id="Fleet-7"))
    push_token(api, "anatolia-token", token_body(party_id="ANA", uid="FLEET-B", group_id="FLEET-7"))
    push_token(api, "anatolia-token", token_body(party_id="ANA", uid="OTHER", group_id="FLEET-8"))
    depot = restricted(cpo, "DEPOT", {"group_id": "fleet-7"})

    assert visible_to(depot) == ["ANA", "BOS"]
    assert served(api, "bosphorus-token", "DEPOT") == (True, True)
    assert served(api, "anatolia-token", "DEPOT") == (True, True)


def test_every_field_an_entry_sets_must_match(api, cpo, partners):
    push_token(
        api, "bosphorus-token", token_body(uid="VIS-1", visual_number="0123456-99", issuer="Move")
    )
    # visual_number and issuer are strings: compared exactly.
    other_issuer = restricted(cpo, "OTHER", {"visual_number": "0123456-99", "issuer": "MoveMove"})
    other_group = restricted(cpo, "GROUP", {"uid": "VIS-1", "type": "RFID", "group_id": "G1"})
    exact = restricted(cpo, "EXACT", {"visual_number": "0123456-99", "issuer": "Move"})

    assert visible_to(other_issuer) == []
    assert visible_to(other_group) == []
    assert visible_to(exact) == ["BOS"]


def test_a_token_arriving_after_the_location_makes_it_visible_and_pushes_it(api, cpo, partners):
    garage = restricted(cpo, "GARAGE", {"visual_number": "12345-67", "issuer": "Anatolia"})
    assert served(api, "anatolia-token", "GARAGE") == (False, False)
    assert not OutboxMessage.objects.filter(module="locations").exists()

    push_token(
        api,
        "anatolia-token",
        token_body(party_id="ANA", uid="CARD-9", visual_number="12345-67", issuer="Anatolia"),
    )

    assert served(api, "anatolia-token", "GARAGE") == (True, True)
    assert served(api, "bosphorus-token", "GARAGE") == (False, False)
    # Its last_updated did not change, so Anatolia learns of it by a push, not by its next pull.
    put = OutboxMessage.objects.get(module="locations", connection=partners[1])
    assert (put.method, put.path) == ("PUT", "TR/ECH/GARAGE")
    assert json.loads(put.body) == json.loads(garage.ocpi_json)


def test_a_pulled_token_makes_the_location_visible_too(cpo, bosphorus):
    location = restricted(cpo, "PULLED", {"uid": "PULL-1", "type": "RFID"})
    token_store_pulled(bosphorus, token_body(uid="PULL-1"))
    assert visible_to(location) == ["BOS"]


def test_a_token_leaving_the_group_hides_the_location_unless_another_token_matches(
    api, cpo, partners
):
    push_token(api, "bosphorus-token", token_body(uid="FLEET-A", group_id="FLEET-7"))
    push_token(api, "bosphorus-token", token_body(uid="FLEET-B", group_id="FLEET-7"))
    depot = restricted(cpo, "DEPOT", {"group_id": "FLEET-7"})

    patch_token(api, "bosphorus-token", "FLEET-A", {"group_id": "FLEET-8"})
    assert visible_to(depot) == ["BOS"], "FLEET-B still matches"
    patch_token(api, "bosphorus-token", "FLEET-B", {"group_id": "FLEET-8"})
    assert visible_to(depot) == []
    assert served(api, "bosphorus-token", "DEPOT") == (False, False)

    patch_token(api, "bosphorus-token", "FLEET-A", {"group_id": "fleet-7"})
    assert visible_to(depot) == ["BOS"]


def test_a_new_visual_number_by_put_moves_the_visibility(api, cpo, partners):
    push_token(api, "bosphorus-token", token_body(visual_number="V-1", issuer="Bos"))
    first = restricted(cpo, "FIRST", {"visual_number": "V-1", "issuer": "Bos"})
    second = restricted(cpo, "SECOND", {"visual_number": "V-2", "issuer": "Bos"})
    assert (visible_to(first), visible_to(second)) == (["BOS"], [])

    push_token(
        api,
        "bosphorus-token",
        token_body(visual_number="V-2", issuer="Bos", last_updated="2026-11-03T10:00:00Z"),
    )
    assert (visible_to(first), visible_to(second)) == ([], ["BOS"])


def test_an_invalid_token_still_shows_the_location(api, cpo, partners, bosphorus):
    # publish_allowed_to says who may be shown a location, not who may charge: a blocked card's
    # holder keeps seeing their home charger (and OCPI never deletes tokens).
    push_token(api, "bosphorus-token", token_body())
    home = restricted(cpo, "HOME", {"uid": "HOME-CARD-1", "type": "RFID"})
    patch_token(api, "bosphorus-token", "HOME-CARD-1", {"valid": False})
    assert visible_to(home) == ["BOS"]

    token = Token.objects.get()
    token_retire_unlisted(bosphorus, set(), started_at=token.last_updated.replace(year=2027))
    assert Token.objects.get().valid is False
    assert visible_to(home) == ["BOS"]


def test_a_party_named_by_issuer_keeps_the_location_when_its_token_stops_matching(
    api, cpo, partners
):
    push_token(api, "bosphorus-token", token_body(group_id="G1"))
    shared = restricted(
        cpo, "SHARED", {"group_id": "G1"}, {"visual_number": "X-1", "issuer": "tr*bos"}
    )
    patch_token(api, "bosphorus-token", "HOME-CARD-1", {"group_id": "G2"})
    assert visible_to(shared) == ["BOS"]


def test_changing_publish_allowed_to_recomputes_the_token_owners(api, cpo, partners):
    push_token(api, "bosphorus-token", token_body())
    location = restricted(cpo, "HOME", {"uid": "HOME-CARD-1", "type": "RFID"})
    location_patch_own(
        location=location, changes={"publish_allowed_to": [{"uid": "SOMEONE", "type": "RFID"}]}
    )
    assert visible_to(location) == []
    assert list(PublishToken.objects.values_list("uid_key", flat=True)) == ["SOMEONE"]

    location_patch_own(location=location, changes={"publish": True, "publish_allowed_to": []})
    assert not PublishToken.objects.exists()
    push_token(api, "bosphorus-token", token_body(uid="SOMEONE"))
    assert visible_to(location) == []


def test_renamed_party_keeps_the_locations_its_tokens_match(api, cpo, partners):
    push_token(api, "bosphorus-token", token_body())
    by_token = restricted(cpo, "BY-TOKEN", {"uid": "HOME-CARD-1", "type": "RFID"})
    by_name = restricted(cpo, "BY-NAME", {"group_id": "NONE", "issuer": "Bosphorus Mobility"})
    assert (visible_to(by_token), visible_to(by_name)) == (["BOS"], ["BOS"])

    party = Party.objects.get(country_code="TR", party_id="BOS", role="EMSP")
    party.name = "Bosphorus Renamed"
    party.save()
    assert (visible_to(by_token), visible_to(by_name)) == (["BOS"], [])


def test_storing_a_token_again_unchanged_costs_no_query(
    api, cpo, partners, django_assert_num_queries
):
    push_token(api, "bosphorus-token", token_body(group_id="G1"))
    restricted(cpo, "DEPOT", {"group_id": "G1"})
    token, before = Token.objects.get(), Token.objects.get()
    with django_assert_num_queries(0):
        visibility_follow_token(token=token, before=before)
