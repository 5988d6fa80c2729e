"""OCPI 2.2.1 Locations endpoints: our CPO Sender and our eMSP Receiver.

The Receiver follows the recipe of echargo/ocpi/receiver.py.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from apps.partners.authentication import caller_of
from apps.partners.models import Role
from echargo.ocpi.exceptions import UnknownObject
from echargo.ocpi.pagination import page_headers, page_request
from echargo.ocpi.receiver import body_object, owner_of_url, write_answer
from echargo.ocpi.response import ocpi_response, stored_document_response, stored_list_response
from echargo.ocpi.routing import check_body_id, check_body_owner, to_party
from echargo.ocpi.views import OcpiView
from echargo.ocpi.wire import validated

from . import selectors, services, store
from .models import Location
from .wire import ConnectorIn, EVSEIn, LocationIn


def _object_of(
    location: Location, evse_uid: str | None, connector_id: str | None
) -> HttpResponse | Response:
    """The requested Location, EVSE or Connector of a stored location (404 when unknown)."""
    if evse_uid is None:
        return stored_document_response(location.ocpi_json)
    evse = store.find_evse(store.document(location), evse_uid)
    if evse is None:
        raise UnknownObject(f"Unknown EVSE {evse_uid}.")
    if connector_id is None:
        return ocpi_response(evse)
    connector = store.find_connector(evse, connector_id)
    if connector is None:
        raise UnknownObject(f"Unknown connector {connector_id}.")
    return ocpi_response(connector)


# --- CPO Sender: /ocpi/cpo/2.2.1/locations ------------------------------------------------------


class CpoLocationListView(OcpiView):
    """GET list of our published locations (and those shared with the caller), paginated."""

    ocpi_module = "locations"

    def get(self, request: Request) -> HttpResponse:
        page = page_request(request)
        documents, total = selectors.location_sender_page(
            connection_id=caller_of(request).connection_id, page=page, to_party=to_party(request)
        )
        headers = page_headers(request, page, total, returned=len(documents))
        return stored_list_response(documents, headers)


class CpoLocationObjectView(OcpiView):
    """GET one of our Locations, EVSEs or Connectors by id."""

    ocpi_module = "locations"

    def get(
        self,
        request: Request,
        location_id: str,
        evse_uid: str | None = None,
        connector_id: str | None = None,
    ) -> HttpResponse | Response:
        location = selectors.location_sender_object(
            connection_id=caller_of(request).connection_id,
            location_id=location_id,
            to_party=to_party(request),
        )
        if location is None:
            raise UnknownObject(f"Unknown location {location_id}.")
        return _object_of(location, evse_uid, connector_id)


# --- eMSP Receiver: /ocpi/emsp/2.2.1/locations/{country_code}/{party_id}/... ---------------------


class EmspLocationsBaseView(OcpiView):
    """The announced Receiver base URL; objects live below it (no method here: 405)."""

    ocpi_module = "locations"


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


class EmspLocationObjectView(OcpiView):
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
        owner = owner_of_url(request, country_code, party_id, role=Role.CPO)
        location = selectors.location_of_owner(owner=owner, location_id=location_id)
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
        owner = owner_of_url(request, country_code, party_id, role=Role.CPO)
        body = body_object(request)
        _check_body_identity(body, country_code, party_id, location_id, evse_uid, connector_id)
        if evse_uid is None:
            write = services.location_put_from_partner(
                owner=owner, data=validated(LocationIn, body)
            )
        elif connector_id is None:
            write = services.evse_put_from_partner(
                owner=owner, location_id=location_id, data=validated(EVSEIn, body)
            )
        else:
            write = services.connector_put_from_partner(
                owner=owner,
                location_id=location_id,
                evse_uid=evse_uid,
                data=validated(ConnectorIn, body),
            )
        return write_answer(write)

    def patch(
        self,
        request: Request,
        country_code: str,
        party_id: str,
        location_id: str,
        evse_uid: str | None = None,
        connector_id: str | None = None,
    ) -> Response:
        owner = owner_of_url(request, country_code, party_id, role=Role.CPO)
        body = body_object(request)
        _check_body_identity(body, country_code, party_id, location_id, evse_uid, connector_id)
        write = services.location_patch_from_partner(
            owner=owner,
            location_id=location_id,
            evse_uid=evse_uid,
            connector_id=connector_id,
            patch=body,
        )
        return write_answer(write)
