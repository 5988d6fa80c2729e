"""Every answer under /ocpi/ is an OCPI envelope with the right HTTP status, errors included."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.ocpi.urls")]

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def assert_envelope(response, http_status: int, status_code: int) -> dict:
    assert response.status_code == http_status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status_code"] == status_code
    assert TIMESTAMP.match(body["timestamp"])
    assert len(body["timestamp"]) <= 25
    return body


def test_versions_answers_with_success_envelope(api, bosphorus, our_parties):
    body = assert_envelope(api.as_token("bosphorus-token").get("/ocpi/versions"), 200, 1000)
    assert body["data"] == [{"version": "2.2.1", "url": settings.OCPI_BASE_URL + "/ocpi/2.2.1"}]


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "*/*", "text/plain"])
def test_any_accept_header_gets_the_json_envelope(api, bosphorus, our_parties, accept):
    # OCPI is JSON only; a partner with an odd Accept header gets JSON, not a 406.
    response = api.as_token("bosphorus-token").get("/ocpi/versions", HTTP_ACCEPT=accept)
    assert_envelope(response, 200, 1000)


def test_answers_carry_their_content_length(api, bosphorus, our_parties):
    # Not chunked: partners' HTTP clients (and our server) do less work with a known length.
    for response in (
        api.as_token("bosphorus-token").get("/ocpi/versions"),
        api.as_token(None).get("/ocpi/versions"),
        api.get("/ocpi/2.2.1/nonsense"),
    ):
        assert response["Content-Length"] == str(len(response.content))


def test_unknown_route_is_404_envelope_even_without_token(api):
    assert_envelope(api.get("/ocpi/2.2.1/nonsense"), 404, 2000)
    assert_envelope(api.as_token("whatever").post("/ocpi/x/y/z", {}, format="json"), 404, 2000)


def test_wrong_method_is_405_envelope(api, bosphorus):
    assert_envelope(
        api.as_token("bosphorus-token").patch("/ocpi/versions", {}, format="json"), 405, 2000
    )


def test_malformed_json_is_http_400_with_2001(api, bosphorus):
    response = api.as_token("bosphorus-token").put(
        "/ocpi/2.2.1/credentials", data=b'{"token": "abc", ', content_type="application/json"
    )
    assert_envelope(response, 400, 2001)


def test_missing_fields_answer_2001_naming_the_field(api, bosphorus):
    response = api.as_token("bosphorus-token").put(
        "/ocpi/2.2.1/credentials", {"token": "abc"}, format="json"
    )
    body = assert_envelope(response, 200, 2001)
    assert "url" in body["status_message"]
    assert "roles" in body["status_message"]


def test_missing_token_is_401_envelope(api):
    response = api.get("/ocpi/versions")
    assert_envelope(response, 401, 2000)
    assert response["WWW-Authenticate"] == "Token"


def test_unknown_token_is_401_envelope(api, bosphorus):
    assert_envelope(api.as_token("not-a-token").get("/ocpi/versions"), 401, 2000)


def test_malformed_authorization_header_is_401(api, bosphorus):
    api.credentials(HTTP_AUTHORIZATION="Bearer bosphorus-token")
    assert_envelope(api.get("/ocpi/versions"), 401, 2000)


def test_raw_token_is_accepted_like_base64(api, bosphorus):
    assert_envelope(api.as_token("bosphorus-token", raw=True).get("/ocpi/versions"), 200, 1000)
    assert_envelope(api.as_token("bosphorus-token").get("/ocpi/versions"), 200, 1000)


def test_trailing_slash_is_served_without_redirect(api, bosphorus):
    assert_envelope(api.as_token("bosphorus-token").get("/ocpi/versions/"), 200, 1000)
    assert_envelope(api.as_token("bosphorus-token").get("/ocpi/2.2.1/"), 200, 1000)


def test_request_and_correlation_ids_are_echoed(api, bosphorus):
    response = api.as_token("bosphorus-token").get(
        "/ocpi/versions", HTTP_X_REQUEST_ID="req-1", HTTP_X_CORRELATION_ID="corr-1"
    )
    assert response["X-Request-ID"] == "req-1"
    assert response["X-Correlation-ID"] == "corr-1"


def test_request_and_correlation_ids_are_generated_when_absent(api):
    response = api.get("/ocpi/versions")
    assert re.match(r"^[0-9a-f-]{36}$", response["X-Request-ID"])
    assert re.match(r"^[0-9a-f-]{36}$", response["X-Correlation-ID"])


def test_routing_headers_are_mirrored_on_the_response(api, bosphorus):
    response = api.as_token("bosphorus-token").get(
        "/ocpi/test/parties",
        HTTP_OCPI_FROM_COUNTRY_CODE="TR",
        HTTP_OCPI_FROM_PARTY_ID="BOS",
        HTTP_OCPI_TO_COUNTRY_CODE="TR",
        HTTP_OCPI_TO_PARTY_ID="ECH",
    )
    assert_envelope(response, 200, 1000)
    assert (response["OCPI-to-country-code"], response["OCPI-to-party-id"]) == ("TR", "BOS")
    assert (response["OCPI-from-country-code"], response["OCPI-from-party-id"]) == ("TR", "ECH")


def test_hostile_inputs_never_yield_500(api, bosphorus):
    client = api.as_token("bosphorus-token")
    hostile = [
        client.put(
            "/ocpi/2.2.1/credentials", data=b"\xff\xfe\x00", content_type="application/json"
        ),
        client.put("/ocpi/2.2.1/credentials", data=b"[1,2,3]", content_type="application/json"),
        client.put(
            "/ocpi/2.2.1/credentials",
            {"token": "x" * 5000, "url": "javascript:alert(1)", "roles": "CPO"},
            format="json",
        ),
        client.get("/ocpi/test/parties?offset=-1"),
        client.get("/ocpi/test/parties?limit=abc"),
        client.get("/ocpi/test/parties?date_from=yesterday"),
        client.get("/ocpi/test/parties/%00%01/BOS"),
    ]
    for response in hostile:
        assert response.status_code < 500, response.content
        assert "status_code" in response.json()
