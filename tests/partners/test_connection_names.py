"""Connection names are unique, and every command finds a connection the same way.

A failed `ocpi_connect` used to leave a pending connection behind and a retry added a second
one of the same name; `ocpi_pull NAME` and `ocpi_credentials update NAME` then crashed with
MultipleObjectsReturned.
"""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from apps.partners.models import PartnerConnection
from apps.partners.selectors import ConnectionNotFound, connection_by_reference
from apps.partners.services import ConnectionNameTaken, connection_invite
from tests.factories.partners import PartnerConnectionFactory
from tests.peer import free_port

pytestmark = pytest.mark.django_db


def unreachable() -> str:
    return f"http://127.0.0.1:{free_port()}/ocpi/versions"


def test_a_failed_connect_is_retried_on_the_same_connection(our_parties):
    with pytest.raises(CommandError, match="Registration failed"):
        call_command("ocpi_connect", unreachable(), "token-a-1", "--name", "Gone Charging")
    first = PartnerConnection.objects.get()
    assert (first.status, first.name) == ("pending", "Gone Charging")
    assert first.last_error

    retry_url = unreachable()
    with pytest.raises(CommandError, match="Registration failed"):
        call_command("ocpi_connect", retry_url, "token-a-2", "--name", "gone charging")
    again = PartnerConnection.objects.get()
    assert again.pk == first.pk
    assert again.versions_url == retry_url

    # The commands that take a name answer clearly, not with a traceback.
    with pytest.raises(CommandError, match="is pending, not connected"):
        call_command("ocpi_credentials", "update", "Gone Charging")
    with pytest.raises(CommandError, match="is pending, not connected: no pull"):
        call_command("ocpi_pull", "gone charging")


def test_connection_names_are_unique_ignoring_case(our_parties):
    connection_invite(name="Partner B.V.")
    with pytest.raises(ConnectionNameTaken, match="exists already"):
        connection_invite(name="PARTNER b.v.")
    with pytest.raises(CommandError, match="exists already"):
        call_command("ocpi_invite", "partner B.V.")
    with pytest.raises(IntegrityError), transaction.atomic():
        PartnerConnection.objects.create(name="partner b.v.")
    assert PartnerConnection.objects.count() == 1


def test_connect_under_the_name_of_a_live_connection_is_refused(our_parties, bosphorus):
    with pytest.raises(CommandError, match="exists already"):
        call_command("ocpi_connect", unreachable(), "token-a", "--name", "Bosphorus Mobility")
    assert PartnerConnection.objects.get().status == "connected"


def test_a_connection_is_found_by_id_hash_id_or_name_in_any_case(bosphorus):
    assert connection_by_reference(str(bosphorus.pk)) == bosphorus
    assert connection_by_reference(f"#{bosphorus.pk}") == bosphorus
    assert connection_by_reference("bosphorus mobility") == bosphorus


def test_an_unknown_connection_is_answered_with_the_known_ones(bosphorus, hub):
    with pytest.raises(ConnectionNotFound) as refused:
        connection_by_reference("Nobody")
    assert f"#{bosphorus.pk} 'Bosphorus Mobility' (connected)" in str(refused.value)
    assert f"#{hub.pk} 'Roaming Hub'" in str(refused.value)
    for command in (["ocpi_pull", "Nobody"], ["ocpi_credentials", "update", "Nobody"]):
        with pytest.raises(CommandError, match="No connection 'Nobody'"):
            call_command(*command)


def test_a_name_that_is_also_an_id_is_ambiguous_until_hash_id(bosphorus):
    digits = PartnerConnectionFactory(name=str(bosphorus.pk))
    for command in (["ocpi_pull", digits.name], ["ocpi_credentials", "update", digits.name]):
        with pytest.raises(CommandError, match="is ambiguous"):
            call_command(*command)
    assert connection_by_reference(f"#{bosphorus.pk}") == bosphorus
    assert connection_by_reference(f"#{digits.pk}") == digits


@pytest.mark.django_db(transaction=True)
def test_the_migration_suffixes_existing_duplicate_names():
    executor = MigrationExecutor(connection)
    executor.migrate([("partners", "0004_outbox_routing")])
    old = executor.loader.project_state([("partners", "0004_outbox_routing")]).apps
    Connection = old.get_model("partners", "PartnerConnection")
    rows = [Connection.objects.create(name=name) for name in ("Peer", "Peer", "peer", "Other")]

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    names = dict(PartnerConnection.objects.values_list("pk", "name"))
    assert [names[row.pk] for row in rows] == [
        "Peer",
        f"Peer (#{rows[1].pk})",
        f"peer (#{rows[2].pk})",
        "Other",
    ]


def test_an_unregistered_partner_is_invited_again_on_its_own_connection(
    our_parties, bosphorus, api
):
    bosphorus.tokens.all().delete()
    PartnerConnection.objects.filter(pk=bosphorus.pk).update(status="unregistered")
    again, token_a = connection_invite(name="Bosphorus Mobility")
    assert again.pk == bosphorus.pk
    assert again.status == "pending"
    assert again.parties.get().party_id == "BOS", "its parties (and their objects) stay with it"
    assert api.as_token(token_a).get("/ocpi/versions").status_code == 200


def test_connecting_again_under_an_unregistered_name_reuses_that_connection(our_parties, bosphorus):
    PartnerConnection.objects.filter(pk=bosphorus.pk).update(status="unregistered")
    url = unreachable()
    with pytest.raises(CommandError, match="Registration failed"):
        call_command("ocpi_connect", url, "token-a", "--name", "Bosphorus Mobility")
    again = PartnerConnection.objects.get()
    assert (again.pk, again.status, again.versions_url) == (bosphorus.pk, "pending", url)
