"""Tokens resolve to connections; connections only ever speak for their own parties."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.partners.models import AccessToken, PartnerConnection
from tests.factories.partners import PartnerConnectionFactory, issue_token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.ocpi.urls")]


def test_connection_reads_its_own_party(api, bosphorus):
    response = api.as_token("bosphorus-token").get("/ocpi/test/parties/tr/bos")
    assert response.status_code == 200
    assert response.json()["data"] == {"country_code": "TR", "party_id": "BOS"}


def test_other_partys_url_answers_unknown(api, bosphorus, hub):
    response = api.as_token("bosphorus-token").get("/ocpi/test/parties/DE/HBA")
    assert response.status_code == 404
    assert response.json()["status_code"] == 2000


def test_hub_speaks_for_each_of_its_parties(api, hub):
    for party_id in ("HBA", "hbb"):
        assert api.as_token("hub-token").get(f"/ocpi/test/parties/DE/{party_id}").status_code == 200


def test_body_owner_must_match_url(api, bosphorus):
    response = api.as_token("bosphorus-token").put(
        "/ocpi/test/parties/TR/BOS", {"country_code": "DE", "party_id": "HBA"}, format="json"
    )
    assert response.json()["status_code"] == 2001


def test_from_headers_of_a_foreign_party_are_refused(api, bosphorus, hub):
    response = api.as_token("bosphorus-token").get(
        "/ocpi/test/parties", HTTP_OCPI_FROM_COUNTRY_CODE="DE", HTTP_OCPI_FROM_PARTY_ID="HBA"
    )
    assert response.status_code == 403
    assert response.json()["status_code"] == 2000


def test_token_a_is_refused_outside_versions_and_credentials(api, our_parties):
    connection = PartnerConnectionFactory(status=PartnerConnection.Status.PENDING)
    issue_token(connection, "token-a", kind=AccessToken.Kind.REGISTRATION)
    client = api.as_token("token-a")
    assert client.get("/ocpi/versions").status_code == 200
    assert client.get("/ocpi/2.2.1").status_code == 200
    assert client.get("/ocpi/test/parties").status_code == 401


def test_expired_token_a_is_refused(api):
    connection = PartnerConnectionFactory(status=PartnerConnection.Status.PENDING)
    issue_token(
        connection,
        "old-token-a",
        kind=AccessToken.Kind.REGISTRATION,
        expires_at=timezone.now() - dt.timedelta(seconds=1),
    )
    assert api.as_token("old-token-a").get("/ocpi/versions").status_code == 401


@pytest.mark.parametrize(
    "status", [PartnerConnection.Status.SUSPENDED, PartnerConnection.Status.UNREGISTERED]
)
def test_token_of_inactive_connection_is_refused(api, bosphorus, status):
    bosphorus.status = status
    bosphorus.save()
    assert api.as_token("bosphorus-token").get("/ocpi/versions").status_code == 401


def test_tokens_are_not_stored_in_clear(bosphorus):
    row = AccessToken.objects.get(connection=bosphorus)
    assert "bosphorus-token" not in row.token_hash
    assert "bosphorus-token" not in row.token_encrypted
