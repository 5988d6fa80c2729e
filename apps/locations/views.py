"""OCPI 2.2.1 Locations endpoints: our CPO Sender and our eMSP Receiver."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.partners.authentication import caller_of
from apps.partners.models import Party, Role
from apps.partners.selectors import connection_party_or_unknown
from echargo.ocpi import headers as h
from echargo.ocpi.exceptions import InvalidParameters, UnknownObject
from echargo.ocpi.pagination import page_headers, page_request
from echargo.ocpi.response import envelope, ocpi_response
from echargo.ocpi.routing import check_body_id, check_body_owner, require_caller_party

from . import selectors, services, store
from .models import Location
from .wire import ConnectorIn, EVSEIn, LocationIn, validated


def raw_data_response(data_json: str, headers: dict[str, str] | None = None) -> HttpResponse:
    """The OCPI envelope around `data` that is already JSON text (stored documents are joined,
    not parsed and serialised again)."""
    rest = json.dumps(envelope(), separators=(",", ":"))
    return HttpResponse(
        '{"data":' + data_json + "," + rest[1:],
        content_type="application/json",
        headers=headers,
    )


def _object_of(
    location: Location, evse_uid: str | None, connector_id: str | None
) -> HttpResponse | Response:
    """The requested Location, EVSE or Connector of a stored location (404 when unknown)."""
    if evse_uid is None:
        return raw_data_response(location.ocpi_json)
    evse = store.find_evse(store.document(location), evse_uid)
    if evse is None:
        raise UnknownObject(f"Unknown EVSE {evse_uid}.")
    if connector_id is None:
        return ocpi_response(evse)
    connector = store.find_connector(evse, connector_id)
    if connector is None:
        raise UnknownObject(f"Unknown connector {connector_id}.")
    return ocpi_response(connector)


def _to_party(request: Request) -> tuple[str, str] | None:
    country, party = request.headers.get(h.TO_COUNTRY), request.headers.get(h.TO_PARTY)
    return (country, party) if country and party else None


# --- CPO Sender: /ocpi/cpo/2.2.1/locations ------------------------------------------------------


class CpoLocationListView(APIView):
    """GET list of our published locations (and those shared with the caller), paginated."""

    ocpi_module = "locations"

    def get(self, request: Request) -> HttpResponse:
        page = page_request(request)
        documents, total = selectors.sender_page(
            connection_id=caller_of(request).connection_id, page=page, to_party=_to_party(request)
        )
        headers = page_headers(request, page, total, returned=len(documents))
        return raw_data_response("[" + ",".join(documents) + "]", headers)


class CpoLocationObjectView(APIView):
    """GET one of our Locations, EVSEs or Connectors by id."""

    ocpi_module = "locations"

    def get(
        self,
        request: Request,
        location_id: str,
        evse_uid: str | None = None,
        connector_id: str | None = None,
    ) -> HttpResponse | Response:
        location = selectors.sender_location(
            connection_id=caller_of(request).connection_id,
            location_id=location_id,
            to_party=_to_party(request),
        )
        if location is None:
            raise UnknownObject(f"Unknown location {location_id}.")
        return _object_of(location, evse_uid, connector_id)


# --- eMSP Receiver: /ocpi/emsp/2.2.1/locations/{country_code}/{party_id}/... ---------------------


class EmspLocationsBaseView(APIView):
    """The announced Receiver base URL; objects live below it (no method here: 405)."""

    ocpi_module = "locations"


def _partner_owner(request: Request, country_code: str, party_id: str) -> Party:
    require_caller_party(request, country_code, party_id)
    return connection_party_or_unknown(
        connection=caller_of(request).connection,
        country_code=country_code,
        party_id=party_id,
        role=Role.CPO,
    )


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise InvalidParameters("The body must be a JSON object.")
    return request.data


def _check_body_identity(
    body: dict[str, Any],
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str | None,
    connector_id: str | None,
) -> None:
    """A PUT/PATCH body names the object of its URL: the Location's owner and id, the EVSE's
    uid or the Connector's id, where it carries them (2001 otherwise)."""
    if evse_uid is None:
        check_body_owner(body, country_code, party_id)
        check_body_id(body, "id", location_id)
    elif connector_id is None:
        check_body_id(body, "uid", evse_uid)
    else:
        check_body_id(body, "id", connector_id)


class EmspLocationObjectView(APIView):
    """GET / PUT / PATCH a partner CPO's Location, EVSE or Connector as we store it."""

    ocpi_module = "locations"

    def get(
        self,
        request: Request,
        country_code: str,
        party_id: str,
        location_id: str,
        evse_uid: str | None = None,
        connector_id: str | None = None,
    ) -> HttpResponse | Response:
        require_caller_party(request, country_code, party_id)
        location = selectors.stored_location(country_code, party_id, location_id)
        if location is None:
            raise UnknownObject(f"Unknown location {location_id}.")
        return _object_of(location, evse_uid, connector_id)

    def put(
        self,
        request: Request,
        country_code: str,
        party_id: str,
        location_id: str,
        evse_uid: str | None = None,
        connector_id: str | None = None,
    ) -> Response:
        owner = _partner_owner(request, country_code, party_id)
        body = _body(request)
        _check_body_identity(body, country_code, party_id, location_id, evse_uid, connector_id)
        if evse_uid is None:
            outcome = services.location_put_from_partner(
                owner=owner, data=validated(LocationIn, body)
            )
        elif connector_id is None:
            outcome = services.evse_put_from_partner(
                owner=owner, location_id=location_id, data=validated(EVSEIn, body)
            )
        else:
            outcome = services.connector_put_from_partner(
                owner=owner,
                location_id=location_id,
                evse_uid=evse_uid,
                data=validated(ConnectorIn, body),
            )
        # OCPI 2.2.1 transport: 201 when the PUT created the object, 200 when it replaced it.
        return ocpi_response(http_status=201 if outcome is services.Outcome.CREATED else 200)

    def patch(
        self,
        request: Request,
        country_code: str,
        party_id: str,
        location_id: str,
        evse_uid: str | None = None,
        connector_id: str | None = None,
    ) -> Response:
        owner = _partner_owner(request, country_code, party_id)
        body = _body(request)
        _check_body_identity(body, country_code, party_id, location_id, evse_uid, connector_id)
        services.object_patch_from_partner(
            owner=owner,
            location_id=location_id,
            evse_uid=evse_uid,
            connector_id=connector_id,
            patch=body,
        )
        return ocpi_response()
