"""Two echargo instances complete the credentials handshake, the update and the unregister
over real HTTP on loopback, in both directions (OCPI 2.2.1 credentials, token A -> B -> C)."""

from __future__ import annotations

import re

import pytest
import requests

from apps.audit.models import AuditEvent, OcpiExchange
from apps.partners import token_vault
from apps.partners.models import AccessToken, PartnerConnection
from apps.partners.services import (
    connection_invite,
    connection_register_with_partner,
    connection_unregister_with_partner,
    connection_update_with_partner,
    outgoing_token,
)
from echargo.ocpi.client import OcpiClient, OcpiClientError
from tests.factories.partners import PartnerConnectionFactory, issue_token

pytestmark = [pytest.mark.peer, pytest.mark.django_db(transaction=True)]


def issued_token(connection: PartnerConnection) -> str:
    """The token the partner calls us with (GET /credentials would hand it out too)."""
    return token_vault.decrypt(connection.tokens.get(kind=AccessToken.Kind.ACCESS).token_encrypted)


def answers(url: str, token: str) -> int:
    return requests.get(url, headers={"Authorization": f"Token {token}"}, timeout=5).status_code


def assert_never_in_clear(*tokens: str) -> None:
    for row in OcpiExchange.objects.all():
        for text in (row.url, row.request_body, row.response_body, row.error):
            for token in tokens:
                assert token not in text
    for row in AccessToken.objects.all():
        for token in tokens:
            assert token not in row.token_hash
            assert token not in row.token_encrypted


def test_partner_registers_with_us_then_updates_then_unregisters(peer, ocpi_live):
    connection, token_a = connection_invite(name="Peer Charging")
    our_versions = f"{ocpi_live.url}/ocpi/versions"

    out = peer.manage("ocpi_connect", our_versions, token_a, "--name", "echargo TR")
    peer_connection_id = re.search(r"connection #(\d+)", out).group(1)

    connection.refresh_from_db()
    assert connection.status == PartnerConnection.Status.CONNECTED
    assert connection.version == "2.2.1"
    assert connection.versions_url == peer.versions_url
    assert set(connection.parties.values_list("country_code", "party_id", "role")) == {
        ("NL", "PEE", "CPO"),
        ("NL", "PEE", "EMSP"),
    }
    assert connection.endpoint_url("credentials") == f"{peer.url}/ocpi/2.2.1/credentials"
    token_c = issued_token(connection)
    assert answers(our_versions, token_a) == 401, "token A dies at registration"
    assert answers(our_versions, token_c) == 200
    # We can call the peer with the token it gave us (its token B).
    with OcpiClient(outgoing_token(connection)) as client:
        assert client.get(peer.versions_url).status_code == 1000

    peer.manage("ocpi_credentials", "update", peer_connection_id)
    connection.refresh_from_db()
    new_token_c = issued_token(connection)
    assert new_token_c != token_c
    assert answers(our_versions, token_c) == 401
    assert answers(our_versions, new_token_c) == 200

    peer.manage("ocpi_credentials", "unregister", peer_connection_id)
    connection.refresh_from_db()
    assert connection.status == PartnerConnection.Status.UNREGISTERED
    assert not connection.tokens.exists()
    assert answers(our_versions, new_token_c) == 401

    assert list(
        # The connection's own life; the initial syncs it started have events of their own.
        AuditEvent.objects.filter(connection=connection, verb__startswith="connection.")
        .order_by("pk")
        .values_list("verb", flat=True)
    ) == [
        "connection.invited",
        "connection.registered",
        "connection.updated",
        "connection.unregistered",
    ]
    inbound = OcpiExchange.objects.filter(direction="in", connection=connection)
    assert set(inbound.values_list("module", flat=True)) >= {"versions", "credentials"}
    assert_never_in_clear(token_a, token_c, new_token_c)


@pytest.mark.parametrize("form", ["--token-a=TOKEN_A", "-- URL TOKEN_A"])
def test_partner_connects_on_the_command_line_with_a_token_a_starting_with_a_dash(
    peer, ocpi_live, form
):
    # Another implementation may well issue such a token A (ours never do).
    invitation = PartnerConnectionFactory(
        name="Dash Partner", status="pending", version="", registered_at=None
    )
    token_a = issue_token(invitation, "-Xb3dash-first-token-a", kind=AccessToken.Kind.REGISTRATION)
    our_versions = f"{ocpi_live.url}/ocpi/versions"
    name = f"echargo TR via {form}"
    if form == "--token-a=TOKEN_A":
        args = [our_versions, f"--token-a={token_a}", "--name", name]
    else:
        args = ["--name", name, "--", our_versions, token_a]
    out = peer.manage("ocpi_connect", *args)
    try:
        assert "Connected to" in out
        invitation.refresh_from_db()
        assert invitation.status == PartnerConnection.Status.CONNECTED
        assert answers(our_versions, token_a) == 401, "token A dies at registration"
    finally:
        peer.manage("ocpi_credentials", "unregister", name, "--force")


def test_we_register_with_partner_then_update_then_unregister(peer, ocpi_live):
    peer_versions, token_a = peer.invite("echargo TR")
    assert peer_versions == peer.versions_url

    connection = connection_register_with_partner(
        versions_url=peer_versions, token_a=token_a, name="Peer Charging"
    )
    assert connection.status == PartnerConnection.Status.CONNECTED
    assert {e["identifier"] for e in connection.endpoints} >= {"credentials"}
    assert set(connection.parties.values_list("country_code", "party_id")) == {("NL", "PEE")}
    token_c = outgoing_token(connection)
    token_b = issued_token(connection)
    assert answers(peer_versions, token_a) == 401, "the peer killed its token A"
    assert answers(peer_versions, token_c) == 200
    assert answers(f"{ocpi_live.url}/ocpi/versions", token_b) == 200

    connection_update_with_partner(connection=connection)
    connection.refresh_from_db()
    new_token_c, new_token_b = outgoing_token(connection), issued_token(connection)
    assert (new_token_c, new_token_b) != (token_c, token_b)
    assert answers(peer_versions, token_c) == 401
    assert answers(peer_versions, new_token_c) == 200
    assert answers(f"{ocpi_live.url}/ocpi/versions", token_b) == 401
    assert connection.tokens.count() == 1

    connection_unregister_with_partner(connection=connection)
    connection.refresh_from_db()
    assert connection.status == PartnerConnection.Status.UNREGISTERED
    assert answers(peer_versions, new_token_c) == 401
    with pytest.raises(OcpiClientError):
        OcpiClient(new_token_c).get(peer_versions)

    outbound = OcpiExchange.objects.filter(direction="out", connection=connection)
    assert set(outbound.values_list("method", "module")) >= {
        ("GET", "versions"),
        ("POST", "credentials"),
        ("PUT", "credentials"),
        ("DELETE", "credentials"),
    }
    assert_never_in_clear(token_a, token_b, token_c, new_token_b, new_token_c)


def test_registration_with_a_wrong_token_a_fails_and_stores_no_party(peer, ocpi_live):
    from apps.partners.services import RegistrationFailed

    with pytest.raises(RegistrationFailed, match="401"):
        connection_register_with_partner(
            versions_url=peer.versions_url, token_a="guessed-token", name="Peer Charging"
        )
    connection = PartnerConnection.objects.get(name="Peer Charging")
    assert connection.status == PartnerConnection.Status.PENDING
    assert "401" in connection.last_error
    assert not connection.parties.exists()
    assert not connection.tokens.exists()
