"""Header names are case-insensitive (RFC 9110 5.1) in what partners send us, over real HTTP."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest

from tests.conftest import token_header

pytestmark = pytest.mark.django_db(transaction=True)


def get_lower_case(server_url: str, path: str, headers: dict[str, str]):
    """GET with every header name written in lower case, as HTTP/2 clients send them."""
    split = urlsplit(server_url)
    conn = http.client.HTTPConnection(split.hostname, split.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name.lower(), value)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def test_lower_case_request_headers_are_read_like_any_other(ocpi_live, bosphorus):
    status, headers = get_lower_case(
        ocpi_live.url,
        "/ocpi/cpo/2.2.1/locations",
        {
            "authorization": token_header("bosphorus-token"),
            "x-request-id": "req-lower-1",
            "x-correlation-id": "corr-lower-1",
            "ocpi-from-country-code": "TR",
            "ocpi-from-party-id": "BOS",
            "ocpi-to-country-code": "TR",
            "ocpi-to-party-id": "ECH",
        },
    )

    assert status == 200
    assert headers["x-request-id"] == "req-lower-1"
    assert headers["x-correlation-id"] == "corr-lower-1"
    # The answer's routing headers point back at the sender named in lower-case headers.
    assert (headers["ocpi-to-country-code"], headers["ocpi-to-party-id"]) == ("TR", "BOS")
    assert (headers["ocpi-from-country-code"], headers["ocpi-from-party-id"]) == ("TR", "ECH")


def test_a_lower_case_from_header_naming_another_party_is_refused(ocpi_live, bosphorus):
    status, _ = get_lower_case(
        ocpi_live.url,
        "/ocpi/cpo/2.2.1/locations",
        {
            "authorization": token_header("bosphorus-token"),
            "ocpi-from-country-code": "NL",
            "ocpi-from-party-id": "XYZ",
        },
    )

    assert status == 403


def test_client_results_read_lower_case_response_headers_in_any_case(foreign_partner):
    from echargo.ocpi.client import OcpiClient, parse_next_link

    foreign_partner.lists["locations"] = [{"id": str(n)} for n in range(15)]
    with OcpiClient("token") as client:
        result = client.get(foreign_partner.url + "/ocpi/cpo/2.2.1/locations")

    assert result.headers["X-Total-Count"] == result.headers["x-total-count"] == "15"
    assert result.headers["X-Limit"] == "10"
    assert parse_next_link(result.headers["Link"]).endswith("offset=10&limit=10")


@pytest.mark.parametrize(
    "link",
    [
        '<https://p.example/l?offset=10>; rel="next"',
        "<https://p.example/l?offset=10>; REL=NEXT",
        '<https://p.example/l?offset=0>; rel="prev", <https://p.example/l?offset=10>;rel="next"',
        '<https://p.example/l?offset=10>; rel="last next"',
    ],
)
def test_the_next_link_is_found_whatever_its_case_and_spacing(link):
    from echargo.ocpi.client import parse_next_link

    assert parse_next_link(link) == "https://p.example/l?offset=10"
