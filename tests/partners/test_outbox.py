"""The outbox delivers pushes in order per partner and object, coalesces state, parks billing."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import responses
import time_machine
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.partners import token_vault
from apps.partners.models import OutboxMessage
from apps.partners.outbox import outbox_deliver, outbox_enqueue, outbox_retry_dead

pytestmark = pytest.mark.django_db

TOKENS = "https://cpo.example/ocpi/emsp/2.2.1/tokens"


@pytest.fixture
def cpo_partner(bosphorus):
    bosphorus.endpoints = [{"identifier": "tokens", "role": "RECEIVER", "url": TOKENS}]
    bosphorus.outgoing_token_encrypted = token_vault.encrypt("token-we-use")
    bosphorus.save()
    return bosphorus


def ok():
    return {"json": {"status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}}


def enqueue(connection, method="PUT", body=None, key="TR/ECH/T1", kind="state"):
    return outbox_enqueue(
        connection=connection,
        module="tokens",
        object_key=key,
        method=method,
        path=key,
        body=body if body is not None else {"uid": key},
        kind=kind,
    )


@responses.activate
def test_delivers_in_order_with_the_partner_token(cpo_partner):
    responses.put(f"{TOKENS}/TR/ECH/T1", **ok())
    responses.put(f"{TOKENS}/TR/ECH/T2", **ok())
    enqueue(cpo_partner, key="TR/ECH/T1")
    enqueue(cpo_partner, key="TR/ECH/T2")
    assert outbox_deliver(connection_id=cpo_partner.pk) == 2
    assert [c.request.url for c in responses.calls] == [
        f"{TOKENS}/TR/ECH/T1",
        f"{TOKENS}/TR/ECH/T2",
    ]
    assert responses.calls[0].request.headers["Authorization"] == "Token dG9rZW4td2UtdXNl"
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"delivered"}


def test_state_put_supersedes_undelivered_versions_of_the_object(cpo_partner):
    first = enqueue(cpo_partner, body={"valid": True})
    enqueue(cpo_partner, method="PATCH", body={"valid": False})
    last = enqueue(cpo_partner, body={"valid": False, "uid": "T1"})
    first.refresh_from_db()
    assert first.status == "superseded"
    assert OutboxMessage.objects.filter(status="pending").get() == last


def test_state_patches_merge_into_one_pending_patch(cpo_partner):
    enqueue(cpo_partner, method="PATCH", body={"valid": False, "last_updated": "a"})
    enqueue(cpo_partner, method="PATCH", body={"whitelist": "NEVER", "last_updated": "b"})
    message = OutboxMessage.objects.get()
    assert json.loads(message.body) == {"valid": False, "whitelist": "NEVER", "last_updated": "b"}


def test_billing_messages_never_coalesce(cpo_partner):
    enqueue(cpo_partner, key="TR/ECH/CDR1", kind="billing")
    enqueue(cpo_partner, key="TR/ECH/CDR1", kind="billing")
    assert OutboxMessage.objects.filter(status="pending").count() == 2


@responses.activate
def test_failure_keeps_message_and_blocks_later_messages_of_same_object(cpo_partner):
    responses.put(f"{TOKENS}/TR/ECH/T1", status=503)
    responses.put(f"{TOKENS}/TR/ECH/T2", **ok())
    first = enqueue(cpo_partner, key="TR/ECH/T1", kind="billing")
    second = enqueue(cpo_partner, key="TR/ECH/T1", kind="billing")
    other = enqueue(cpo_partner, key="TR/ECH/T2")
    assert outbox_deliver(connection_id=cpo_partner.pk) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    other.refresh_from_db()
    assert first.status == "pending"
    assert first.attempts == 1
    assert first.next_attempt_at > timezone.now()
    assert "503" in first.last_error
    assert second.attempts == 0, "a later message of the same object waits for the first"
    assert other.status == "delivered"


@responses.activate
def test_billing_message_is_dead_lettered_after_retry_window_with_alert(cpo_partner, settings):
    settings.OUTBOX_RETRY_WINDOW_HOURS = {"state": 1, "billing": 2}
    responses.put(f"{TOKENS}/TR/ECH/CDR9", status=500)
    message = enqueue(cpo_partner, key="TR/ECH/CDR9", kind="billing")
    with time_machine.travel(timezone.now() + dt.timedelta(hours=3)):
        outbox_deliver(connection_id=cpo_partner.pk)
    message.refresh_from_db()
    assert message.status == "dead"
    assert AuditEvent.objects.filter(verb="outbox.dead_letter", object_key="TR/ECH/CDR9").exists()
    assert outbox_retry_dead(message_ids=[message.pk]) == 1
    message.refresh_from_db()
    assert message.status == "pending"


@responses.activate
def test_message_of_a_worker_that_died_is_delivered_again_after_its_lease(cpo_partner):
    responses.put(f"{TOKENS}/TR/ECH/T1", **ok())
    message = enqueue(cpo_partner)
    # A worker claimed it and died before settling it.
    OutboxMessage.objects.filter(pk=message.pk).update(
        status="delivering", leased_until=timezone.now() + dt.timedelta(minutes=2)
    )
    assert outbox_deliver(connection_id=cpo_partner.pk) == 0, "lease still held"
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3)):
        assert outbox_deliver(connection_id=cpo_partner.pk) == 1
    message.refresh_from_db()
    assert message.status == "delivered"


def test_missing_receiver_endpoint_is_an_error_not_a_crash(bosphorus):
    bosphorus.outgoing_token_encrypted = token_vault.encrypt("token-we-use")
    bosphorus.save()
    message = enqueue(bosphorus)
    assert outbox_deliver(connection_id=bosphorus.pk) == 0
    message.refresh_from_db()
    assert "no tokens RECEIVER endpoint" in message.last_error


@responses.activate
def test_push_carries_routing_headers_from_owner_to_partner(cpo_partner):
    responses.put(f"{TOKENS}/TR/ECH/T1", **ok())
    enqueue(cpo_partner)
    outbox_deliver(connection_id=cpo_partner.pk)
    sent = responses.calls[0].request.headers
    assert (sent["OCPI-from-country-code"], sent["OCPI-from-party-id"]) == ("TR", "ECH")
    assert (sent["OCPI-to-country-code"], sent["OCPI-to-party-id"]) == ("TR", "BOS")


def test_patches_of_different_children_of_one_object_stay_apart(cpo_partner):
    for evse in ("E1", "E2"):
        outbox_enqueue(
            connection=cpo_partner,
            module="locations",
            object_key="TR/ECH/L1",
            method="PATCH",
            path=f"TR/ECH/L1/{evse}",
            body={"status": "CHARGING", "last_updated": "x"},
        )
    assert OutboxMessage.objects.filter(status="pending").count() == 2


@responses.activate
def test_a_delivered_hook_gets_the_partners_answer_headers_and_cannot_undo_delivery(
    cpo_partner,
):
    from apps.partners import publishing

    seen = []

    def hook(message, result):
        seen.append((message.pk, result.headers.get("Location")))
        raise RuntimeError("the hook's own failure")

    publishing.register_delivered("tokens", hook)
    try:
        responses.post(TOKENS, **ok(), headers={"location": "https://cpo.example/x/1"})
        message = enqueue(cpo_partner, method="POST", kind="billing")
        message.path = ""
        message.save()
        assert outbox_deliver(connection_id=cpo_partner.pk) == 1
    finally:
        publishing._delivered.pop("tokens")
    # An empty path is the module URL itself, with no slash added; the header is read in any case.
    assert responses.calls[0].request.url == TOKENS
    assert seen == [(message.pk, "https://cpo.example/x/1")]
    message.refresh_from_db()
    assert message.status == "delivered"
