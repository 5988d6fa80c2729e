"""Staff manage our drivers' tokens in the admin; every change goes through the services."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.partners import token_vault
from apps.partners.models import OutboxMessage
from apps.tokens.models import AuthorizationDecision, Token
from tests.factories.tokens import TokenFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("alice", "alice@echargo.example", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def our_emsp(our_parties):
    return next(p for p in our_parties if p.role == "EMSP")


@pytest.fixture
def cpo_partner(hub):
    hub.endpoints = [
        {
            "identifier": "tokens",
            "role": "RECEIVER",
            "url": "https://hub.example/ocpi/cpo/2.2.1/tokens",
        }
    ]
    hub.outgoing_token_encrypted = token_vault.encrypt("hub-side-token")
    hub.save()
    return hub


def test_bulk_block_pushes_each_token_and_skips_partner_tokens(
    staff, our_emsp, cpo_partner, bosphorus
):
    ours = TokenFactory.create_batch(3, owner=our_emsp)
    theirs = TokenFactory(owner=bosphorus.parties.get())
    response = staff.post(
        "/admin/tokens/token/",
        {"action": "block", "_selected_action": [t.pk for t in [*ours, theirs]]},
        follow=True,
    )
    assert response.status_code == 200
    assert Token.objects.filter(valid=False).count() == 3
    assert Token.objects.get(pk=theirs.pk).valid is True
    assert OutboxMessage.objects.filter(method="PATCH").count() == 3
    history = Token.objects.get(pk=ours[0].pk).history.first()
    assert history.history_user.username == "alice"


def test_staff_edit_of_whitelist_is_pushed_as_patch(staff, our_emsp, cpo_partner):
    token = TokenFactory(owner=our_emsp, whitelist="ALLOWED")
    data = {
        "contract_id": token.contract_id,
        "visual_number": "",
        "issuer": token.issuer,
        "group_id": "",
        "valid": "on",
        "whitelist": "NEVER",
        "language": "",
        "default_profile_type": "",
        "energy_contract": "null",
    }
    response = staff.post(f"/admin/tokens/token/{token.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    assert Token.objects.get(pk=token.pk).whitelist == "NEVER"
    assert OutboxMessage.objects.get().method == "PATCH"


def test_partner_token_page_is_read_only(staff, bosphorus):
    token = TokenFactory(owner=bosphorus.parties.get())
    page = staff.get(f"/admin/tokens/token/{token.pk}/change/").content.decode()
    assert 'name="whitelist"' not in page


def test_csv_import_previews_then_issues_through_services(staff, our_emsp, cpo_partner):
    csv = (
        "uid,type,contract_id,visual_number,issuer,group_id,valid,whitelist,language,"
        "default_profile_type\n"
        "CSV0001,RFID,TR-ECH-C9001,,echargo,,1,ALLOWED,tr,\n"
        "CSV0002,RFID,TR-ECH-C9002,,echargo,,1,SOMETIMES,,\n"
    )
    upload = SimpleUploadedFile("tokens.csv", csv.encode(), content_type="text/csv")
    response = staff.post(
        "/admin/tokens/token/import/", {"import_file": upload, "format": "0", "resource": "0"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "SOMETIMES" in page, "the bad row is shown with its error"
    assert not Token.objects.exists(), "a preview writes nothing"


def test_decision_log_shows_per_partner_summary(staff, bosphorus):
    AuthorizationDecision.objects.create(
        side="cpo",
        uid="X",
        type="RFID",
        connection=bosphorus,
        allowed="ALLOWED",
        source="realtime",
        latency_ms=12.5,
    )
    page = staff.get("/admin/tokens/authorizationdecision/").content.decode()
    assert "Bosphorus Mobility" in page
    assert "12.5" in page


def test_csv_import_confirmed_issues_and_pushes_each_token(staff, our_emsp, cpo_partner):
    csv = (
        "uid,type,contract_id,visual_number,issuer,group_id,valid,whitelist,language,"
        "default_profile_type\n"
        "CSV0001,RFID,TR-ECH-C9001,,echargo,,1,ALLOWED,tr,\n"
        "CSV0002,APP_USER,TR-ECH-C9002,,echargo,,1,NEVER,,\n"
    )
    upload = SimpleUploadedFile("tokens.csv", csv.encode(), content_type="text/csv")
    preview = staff.post(
        "/admin/tokens/token/import/", {"import_file": upload, "format": "0", "resource": "0"}
    )
    confirm = preview.context["confirm_form"].initial
    response = staff.post("/admin/tokens/token/process_import/", confirm, follow=True)
    assert response.status_code == 200
    assert set(Token.objects.values_list("uid", "type")) == {
        ("CSV0001", "RFID"),
        ("CSV0002", "APP_USER"),
    }
    assert OutboxMessage.objects.filter(method="PUT").count() == 2
