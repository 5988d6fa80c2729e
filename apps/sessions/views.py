"""OCPI sessions endpoints: our CPO Sender (list, charging preferences) and our eMSP Receiver
(GET / PUT / PATCH of partners' sessions), following echargo/ocpi/receiver.py."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from apps.partners.authentication import caller_of
from apps.partners.models import Role
from echargo.ocpi.exceptions import InvalidParameters, UnknownObject
from echargo.ocpi.pagination import paginate_queryset
from echargo.ocpi.receiver import body_object, owner_of_url, write_answer
from echargo.ocpi.response import ocpi_response, stored_document_response, stored_list_response
from echargo.ocpi.routing import check_body_id, check_body_owner
from echargo.ocpi.views import OcpiView
from echargo.ocpi.wire import ocpi_dumps, validated

from . import emsp, selectors
from .wire import (
    ChargingPreferencesSerializer,
    SessionPatchSerializer,
    SessionSerializer,
    session_document,
)


class CpoSessionListView(OcpiView):
    """GET our sessions of the caller's drivers, paginated on last_updated.

    mod_sessions makes date_from REQUIRED for this GET; a partner that leaves it out gets every
    session it may see rather than an error (the other modules' Senders take it as optional)."""

    ocpi_module = "sessions"

    def get(self, request: Request) -> HttpResponse:
        documents, headers = paginate_queryset(
            request,
            selectors.session_sender_list(connection_id=caller_of(request).connection_id),
            render=lambda rows: [ocpi_dumps(session_document(s)) for s in rows],
        )
        return stored_list_response(documents, headers)


class CpoChargingPreferencesView(OcpiView):
    """PUT {sessions}/{session_id}/charging_preferences: our chargers take no smart-charging
    profiles (OCPP 1.6 SetChargingProfile is not wired), so a valid request is answered
    NOT_POSSIBLE; an unknown session is HTTP 404 + 2003 (mod_sessions, status_codes)."""

    ocpi_module = "sessions"

    def put(self, request: Request, session_id: str) -> Response:
        validated(ChargingPreferencesSerializer, body_object(request))
        session = selectors.session_own(
            session_id=session_id, connection_id=caller_of(request).connection_id
        )
        if session is None:
            raise UnknownObject(f"Unknown session {session_id}.")
        return ocpi_response(data="NOT_POSSIBLE")


class EmspSessionsReceiverView(OcpiView):
    """The base URL we announce for our sessions Receiver; the sessions live below it."""

    ocpi_module = "sessions"


class EmspSessionView(OcpiView):
    ocpi_module = "sessions"

    def get(
        self, request: Request, country_code: str, party_id: str, session_id: str
    ) -> HttpResponse:
        owner = owner_of_url(request, country_code, party_id, role=Role.CPO)
        session = selectors.session_of_owner(owner=owner, session_id=session_id)
        if session is None:
            raise UnknownObject(f"Unknown session {session_id}.")
        return stored_document_response(ocpi_dumps(session_document(session)))

    def put(self, request: Request, country_code: str, party_id: str, session_id: str) -> Response:
        owner = owner_of_url(request, country_code, party_id, role=Role.CPO)
        body = body_object(request)
        check_body_owner(body, country_code, party_id)
        check_body_id(body, "id", session_id)
        write = emsp.session_put_from_partner(
            owner=owner,
            data=validated(SessionSerializer, body),
            reason=f"PUT by {caller_of(request).connection}",
        )
        return write_answer(write)

    def patch(
        self, request: Request, country_code: str, party_id: str, session_id: str
    ) -> Response:
        owner = owner_of_url(request, country_code, party_id, role=Role.CPO)
        body = body_object(request)
        if "last_updated" not in body:
            raise InvalidParameters("A PATCH must contain last_updated.")
        data = validated(SessionPatchSerializer, body)
        if "country_code" in data or "party_id" in data:
            check_body_owner(body, country_code, party_id)
        write = emsp.session_patch_from_partner(
            owner=owner,
            session_id=session_id,
            data=data,
            reason=f"PATCH by {caller_of(request).connection}",
        )
        return write_answer(write)
