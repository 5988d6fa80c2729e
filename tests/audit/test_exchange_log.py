"""Staff browse every OCPI exchange; logging never breaks an exchange and never shows a token."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from apps.audit.models import OcpiExchange

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("alice", "alice@echargo.example", "pw")
    client.force_login(user)
    return client


def test_inbound_exchange_is_logged_with_ids_module_and_connection(api, bosphorus):
    api.as_token("bosphorus-token").get(
        "/ocpi/versions", HTTP_X_REQUEST_ID="req-42", HTTP_X_CORRELATION_ID="corr-42"
    )
    row = OcpiExchange.objects.get()
    assert (row.direction, row.method, row.module) == ("in", "GET", "versions")
    assert (row.request_id, row.correlation_id) == ("req-42", "corr-42")
    assert row.connection == bosphorus
    assert (row.http_status, row.ocpi_status_code) == (200, 1000)
    assert row.duration_ms >= 0


def test_refused_request_is_logged_too(api):
    api.get("/ocpi/versions")
    row = OcpiExchange.objects.get()
    assert (row.http_status, row.connection) == (401, None)


def test_credentials_tokens_are_masked_in_logged_bodies(api, bosphorus):
    api.as_token("bosphorus-token").put(
        "/ocpi/2.2.1/credentials",
        {"token": "very-secret-token-b", "url": "x", "roles": []},
        format="json",
    )
    row = OcpiExchange.objects.get()
    assert "very-secret-token-b" not in row.request_body
    assert '"token":"********"' in row.request_body


@pytest.mark.parametrize(
    "key",
    [r"\u0074oken", r"\u0074\u006f\u006b\u0065\u006e", r"t\u006Fken"],
)
def test_credentials_tokens_are_masked_whatever_the_key_spelling(api, bosphorus, key):
    # The same JSON key "token", spelled with escapes: a search for the literal text misses it.
    body = f'{{"{key}": "very-secret-token-b", "url": "x", "roles": []}}'
    api.as_token("bosphorus-token").put(
        "/ocpi/2.2.1/credentials", data=body.encode(), content_type="application/json"
    )
    row = OcpiExchange.objects.get()
    assert "very-secret-token-b" not in row.request_body
    assert "********" in row.request_body


def test_a_token_cut_off_by_truncation_is_masked_too(api, bosphorus, settings):
    settings.OCPI_EXCHANGE_LOG_MAX_REQUEST_BODY = 30
    body = '{"\\u0074oken": "very-secret-token-b-and-more", "url": "x", "roles": []}'
    api.as_token("bosphorus-token").put(
        "/ocpi/2.2.1/credentials", data=body.encode(), content_type="application/json"
    )
    row = OcpiExchange.objects.get()
    assert "very-secret" not in row.request_body
    assert "truncated" in row.request_body


def test_a_token_hidden_behind_a_duplicate_key_is_masked(api, bosphorus):
    # json.loads keeps the last duplicate (an object here): the string before it is masked too.
    body = '{"token": "very-secret-token-b", "token": {}, "url": "x", "roles": []}'
    api.as_token("bosphorus-token").put(
        "/ocpi/2.2.1/credentials", data=body.encode(), content_type="application/json"
    )
    assert "very-secret-token-b" not in OcpiExchange.objects.get().request_body


def test_driver_token_objects_in_an_authorization_are_logged_as_they_are():
    from echargo.ocpi.exchange import body_text

    body = b'{"data":{"allowed":"ALLOWED","token":{"uid":"ABC123"}},"status_code":1000}'
    assert body_text(body, 4096) == body.decode()


def test_nul_bytes_in_a_hostile_body_are_still_logged(api, bosphorus):
    response = api.as_token("bosphorus-token").put(
        "/ocpi/2.2.1/credentials", data=b'{"token": "\x00"}', content_type="application/json"
    )
    assert response.status_code == 400
    assert OcpiExchange.objects.get().http_status == 400


def test_a_failing_log_never_breaks_the_exchange(api, bosphorus, monkeypatch):
    from apps.audit import services

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "exchange_record", broken)
    response = api.as_token("bosphorus-token").get("/ocpi/versions")
    assert response.status_code == 200
    assert not OcpiExchange.objects.exists()


def test_staff_filter_and_search_the_exchange_log(staff, api, bosphorus):
    api.as_token("bosphorus-token").get("/ocpi/versions", HTTP_X_REQUEST_ID="find-me-123")
    api.get("/ocpi/versions", HTTP_X_REQUEST_ID="other-456")
    page = staff.get("/admin/audit/ocpiexchange/?q=find-me-123").content.decode()
    assert "/ocpi/versions" in page
    assert "1 result" in page
    filtered = staff.get(
        f"/admin/audit/ocpiexchange/?connection__id__exact={bosphorus.pk}&direction=in"
        "&module=versions&http_status=200"
    )
    assert filtered.status_code == 200
    assert "bosphorus-token" not in filtered.content.decode()
