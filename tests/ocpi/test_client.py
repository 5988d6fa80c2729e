"""The outgoing OCPI client: headers, timeouts, retries, pagination, failures, and its log."""

from __future__ import annotations

import base64
import json

import pytest
import requests
import responses
from responses import matchers, registries

from apps.audit.models import OcpiExchange
from echargo.ocpi.client import OcpiClient, OcpiClientError, parse_next_link

URL = "https://partner.example/ocpi/cpo/2.2.1/locations"


def ok(data=None, **kwargs):
    return {
        "json": {"data": data, "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"},
        **kwargs,
    }


@responses.activate
def test_sends_base64_token_ids_and_routing_headers():
    responses.get(URL, **ok([]))
    client = OcpiClient("secret-token", from_party=("TR", "ECH"), to_party=("NL", "ABC"))
    client.get(URL)
    sent = responses.calls[0].request.headers
    assert sent["Authorization"] == "Token " + base64.b64encode(b"secret-token").decode()
    assert sent["X-Request-ID"]
    assert sent["X-Correlation-ID"]
    assert (sent["OCPI-from-country-code"], sent["OCPI-from-party-id"]) == ("TR", "ECH")
    assert (sent["OCPI-to-country-code"], sent["OCPI-to-party-id"]) == ("NL", "ABC")


@responses.activate
def test_raw_encoding_sends_the_token_as_is():
    responses.get(URL, **ok([]))
    OcpiClient("secret-token", encoding="raw").get(URL)
    assert responses.calls[0].request.headers["Authorization"] == "Token secret-token"


@responses.activate
def test_every_call_has_a_connect_and_read_timeout(settings):
    settings.OCPI_CLIENT_TIMEOUT = (1.5, 7.0)
    responses.get(URL, **ok([]), match=[matchers.request_kwargs_matcher({"timeout": (1.5, 7.0)})])
    OcpiClient("t").get(URL)


@responses.activate(registry=registries.OrderedRegistry)
def test_idempotent_get_is_retried_on_503():
    responses.get(URL, status=503, headers={"Retry-After": "0"})
    responses.get(URL, **ok(["again"]))
    assert OcpiClient("t").get(URL).data == ["again"]
    assert len(responses.calls) == 2


@responses.activate(registry=registries.OrderedRegistry)
def test_post_is_not_retried_by_the_client():
    responses.post(URL, status=503)
    responses.post(URL, **ok())
    with pytest.raises(OcpiClientError):
        OcpiClient("t").post(URL, {"a": 1})
    assert len(responses.calls) == 1


@responses.activate
def test_non_success_status_code_fails_even_with_http_200():
    responses.put(
        URL,
        json={"status_code": 2001, "status_message": "bad", "timestamp": "2026-01-01T00:00:00Z"},
    )
    with pytest.raises(OcpiClientError) as info:
        OcpiClient("t").put(URL, {})
    assert info.value.status_code == 2001


@responses.activate
def test_answer_without_envelope_fails():
    responses.get(URL, body="<html>gateway</html>", status=200)
    with pytest.raises(OcpiClientError):
        OcpiClient("t").get(URL)


@responses.activate
def test_oversized_response_is_refused(settings):
    settings.OCPI_CLIENT_MAX_RESPONSE_BYTES = 1000
    responses.get(URL, **ok(["x" * 5000]))
    with pytest.raises(OcpiClientError, match="larger than"):
        OcpiClient("t").get(URL)


@responses.activate
def test_connection_error_becomes_client_error():
    responses.get(URL, body=requests.ConnectionError("refused"))
    with pytest.raises(OcpiClientError, match="refused"):
        OcpiClient("t", retries=False).get(URL)


@responses.activate
def test_iter_pages_follows_link_headers_with_their_own_filters():
    responses.get(
        URL,
        **ok([1, 2]),
        match=[matchers.query_param_matcher({"date_from": "x"})],
        headers={"Link": f'<{URL}?date_from=x&offset=2&limit=2>; rel="next"'},
    )
    responses.get(
        URL,
        **ok([3]),
        match=[matchers.query_param_matcher({"date_from": "x", "offset": "2", "limit": "2"})],
    )
    pages = list(OcpiClient("t").iter_pages(URL, {"date_from": "x"}))
    assert [item for page in pages for item in page.data] == [1, 2, 3]


def test_parse_next_link_reads_rel_next_only():
    assert parse_next_link('<https://a/b?offset=5>; rel="next"') == "https://a/b?offset=5"
    assert parse_next_link('<https://a/prev>; rel="prev", <https://a/next>; rel="next"') == (
        "https://a/next"
    )
    assert parse_next_link("") is None


@pytest.mark.django_db
@responses.activate
def test_outgoing_exchange_is_logged_with_token_masked():
    responses.post(URL, **ok({"token": "their-secret", "url": "x"}))
    OcpiClient("t").post(URL, {"token": "our-secret", "url": "y"}, module="credentials")
    row = OcpiExchange.objects.get()
    assert row.direction == "out"
    assert row.module == "credentials"
    assert row.ocpi_status_code == 1000
    assert "our-secret" not in row.request_body
    assert "their-secret" not in row.response_body
    assert json.loads(row.request_body)["url"] == "y"


@pytest.mark.django_db
def test_production_guard_refuses_http_and_private_addresses(settings):
    settings.OCPI_REQUIRE_HTTPS = True
    settings.OCPI_ALLOW_PRIVATE_URLS = False
    for url in (
        "http://partner.example/versions",
        "https://127.0.0.1/versions",
        "https://10.0.0.8/versions",
        "https://[::1]/versions",
        "https://169.254.169.254/latest",
    ):
        with pytest.raises(OcpiClientError):
            OcpiClient("t").get(url)
    assert OcpiExchange.objects.count() == 5
