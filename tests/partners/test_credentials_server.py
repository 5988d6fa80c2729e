"""Credentials module as server: what a registering partner gets when things go wrong.

The partner's own API is played by `responses` here; the happy paths run against a real
second instance in test_handshake_between_instances.py.
"""

from __future__ import annotations

import pytest
import responses

from apps.partners.models import AccessToken, PartnerConnection, Party
from apps.partners.services import connection_invite

pytestmark = pytest.mark.django_db

PARTNER = "https://partner.example/ocpi"


def envelope(data):
    return {"data": data, "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}


def partner_api(versions=("2.2.1",), endpoints=("credentials", "locations")):
    responses.get(
        f"{PARTNER}/versions",
        json=envelope([{"version": v, "url": f"{PARTNER}/{v}"} for v in versions]),
    )
    responses.get(
        f"{PARTNER}/2.2.1",
        json=envelope(
            {
                "version": "2.2.1",
                "endpoints": [
                    {"identifier": e, "role": "SENDER", "url": f"{PARTNER}/2.2.1/{e}"}
                    for e in endpoints
                ],
            }
        ),
    )


def credentials(token="partner-token-b", party_id="PAR", role="CPO"):
    return {
        "token": token,
        "url": f"{PARTNER}/versions",
        "roles": [
            {
                "role": role,
                "party_id": party_id,
                "country_code": "NL",
                "business_details": {"name": "Partner B.V.", "website": "https://partner.example"},
            }
        ],
    }


@pytest.fixture
def invited(our_parties):
    connection, token_a = connection_invite(name="Partner B.V.")
    return connection, token_a


@responses.activate
def test_registration_answers_token_c_our_url_and_roles(api, invited):
    _, token_a = invited
    partner_api()
    body = (
        api.as_token(token_a).post("/ocpi/2.2.1/credentials", credentials(), format="json").json()
    )
    assert body["status_code"] == 1000
    assert body["data"]["url"].endswith("/ocpi/versions")
    assert {(r["country_code"], r["party_id"], r["role"]) for r in body["data"]["roles"]} == {
        ("TR", "ECH", "CPO"),
        ("TR", "ECH", "EMSP"),
    }
    # The partner was called with its token B, Base64-encoded.
    assert responses.calls[0].request.headers["Authorization"] == "Token cGFydG5lci10b2tlbi1i"
    token_c = body["data"]["token"]
    assert api.as_token(token_c).get("/ocpi/2.2.1/credentials").json()["data"]["token"] == token_c


@responses.activate
def test_partner_without_2_2_1_gets_3002_and_nothing_changes(api, invited):
    connection, token_a = invited
    partner_api(versions=("2.1.1",))
    body = (
        api.as_token(token_a).post("/ocpi/2.2.1/credentials", credentials(), format="json").json()
    )
    assert body["status_code"] == 3002
    connection.refresh_from_db()
    assert connection.status == PartnerConnection.Status.PENDING
    assert api.as_token(token_a).get("/ocpi/versions").status_code == 200


@responses.activate
def test_unreachable_partner_gets_3001(api, invited):
    _, token_a = invited
    responses.get(f"{PARTNER}/versions", status=500)
    body = (
        api.as_token(token_a).post("/ocpi/2.2.1/credentials", credentials(), format="json").json()
    )
    assert body["status_code"] == 3001
    assert not Party.objects.filter(party_id="PAR").exists()


@responses.activate
def test_partner_without_credentials_endpoint_gets_3003(api, invited):
    _, token_a = invited
    partner_api(endpoints=("locations",))
    body = (
        api.as_token(token_a).post("/ocpi/2.2.1/credentials", credentials(), format="json").json()
    )
    assert body["status_code"] == 3003


@responses.activate
def test_post_when_registered_is_405(api, invited):
    _, token_a = invited
    partner_api()
    token_c = (
        api.as_token(token_a)
        .post("/ocpi/2.2.1/credentials", credentials(), format="json")
        .json()["data"]["token"]
    )
    response = api.as_token(token_c).post("/ocpi/2.2.1/credentials", credentials(), format="json")
    assert response.status_code == 405
    assert response.json()["status_code"] == 2000


@pytest.mark.parametrize("method", ["put", "delete"])
def test_put_or_delete_before_registration_is_405(api, invited, method):
    _, token_a = invited
    response = getattr(api.as_token(token_a), method)(
        "/ocpi/2.2.1/credentials", credentials(), format="json"
    )
    assert response.status_code == 405


@responses.activate
def test_update_cannot_swap_parties_and_old_token_keeps_working(api, invited):
    _, token_a = invited
    partner_api()
    token_c = (
        api.as_token(token_a)
        .post("/ocpi/2.2.1/credentials", credentials(), format="json")
        .json()["data"]["token"]
    )
    body = (
        api.as_token(token_c)
        .put("/ocpi/2.2.1/credentials", credentials(token="new-b", party_id="OTH"), format="json")
        .json()
    )
    assert body["status_code"] == 2001
    assert api.as_token(token_c).get("/ocpi/versions").status_code == 200
    assert not Party.objects.filter(party_id="OTH").exists()


@responses.activate
def test_failed_rotation_leaves_old_token_working(api, invited):
    _, token_a = invited
    partner_api()
    token_c = (
        api.as_token(token_a)
        .post("/ocpi/2.2.1/credentials", credentials(), format="json")
        .json()["data"]["token"]
    )
    responses.replace(responses.GET, f"{PARTNER}/versions", status=503)
    body = (
        api.as_token(token_c)
        .put("/ocpi/2.2.1/credentials", credentials(token="new-b"), format="json")
        .json()
    )
    assert body["status_code"] == 3001
    assert api.as_token(token_c).get("/ocpi/versions").status_code == 200
    assert AccessToken.objects.filter(kind=AccessToken.Kind.ACCESS).count() == 1


@responses.activate
def test_party_of_another_connection_cannot_be_claimed(api, invited, bosphorus):
    _, token_a = invited
    partner_api()
    claim = credentials()
    claim["roles"][0].update(country_code="TR", party_id="BOS", role="EMSP")
    body = api.as_token(token_a).post("/ocpi/2.2.1/credentials", claim, format="json").json()
    assert body["status_code"] == 2001
    assert "already registered" in body["status_message"]


@responses.activate
def test_our_own_party_cannot_be_claimed(api, invited):
    _, token_a = invited
    partner_api()
    claim = credentials()
    claim["roles"][0].update(country_code="TR", party_id="ECH", role="CPO")
    body = api.as_token(token_a).post("/ocpi/2.2.1/credentials", claim, format="json").json()
    assert body["status_code"] == 2001


def test_credentials_token_with_whitespace_is_2001(api, invited):
    _, token_a = invited
    body = (
        api.as_token(token_a)
        .post("/ocpi/2.2.1/credentials", credentials(token="a b"), format="json")
        .json()
    )
    assert body["status_code"] == 2001


def test_version_details_list_credentials_once_as_sender(api, invited):
    _, token_a = invited
    data = api.as_token(token_a).get("/ocpi/2.2.1").json()["data"]
    assert data["version"] == "2.2.1"
    assert [e for e in data["endpoints"] if e["identifier"] == "credentials"] == [
        {
            "identifier": "credentials",
            "role": "SENDER",
            "url": data["endpoints"][0]["url"].split("/ocpi/")[0] + "/ocpi/2.2.1/credentials",
        }
    ]


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"name": "Partner B.V.", "website": "partner dot example"}, "website"),
        (
            {
                "name": "Partner B.V.",
                "logo": {"url": "not a url", "category": "OPERATOR", "type": "png"},
            },
            "url",
        ),
    ],
)
def test_business_details_are_checked_as_locations_check_them(api, invited, details, field):
    # One BusinessDetails/Image for credentials and locations: URLs must be URLs (OCPI 2.2.1).
    _, token_a = invited
    claim = credentials()
    claim["roles"][0]["business_details"] = details
    body = api.as_token(token_a).post("/ocpi/2.2.1/credentials", claim, format="json").json()
    assert body["status_code"] == 2001
    assert field in body["status_message"]


@pytest.mark.parametrize("field", ["token", "url"])
@pytest.mark.parametrize("value", [0, 12345, 1.5])
def test_a_token_or_url_that_is_not_a_string_is_2001_and_no_partner_is_called(
    api, invited, field, value
):
    connection, token_a = invited
    body = {**credentials(), field: value}
    answer = api.as_token(token_a).post("/ocpi/2.2.1/credentials", body, format="json").json()
    assert answer["status_code"] == 2001
    connection.refresh_from_db()
    assert connection.status == PartnerConnection.Status.PENDING
