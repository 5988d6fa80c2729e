"""OCPI tokens endpoints: our eMSP Sender (list, authorize) and our CPO Receiver.

The Receiver follows the recipe of echargo/ocpi/receiver.py.
"""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework.request import Request
from rest_framework.response import Response

from apps.partners.authentication import caller_of
from apps.partners.models import Role
from echargo.ocpi.exceptions import InvalidParameters, UnknownObject
from echargo.ocpi.pagination import paginate_queryset
from echargo.ocpi.receiver import body_object, owner_of_url, write_answer
from echargo.ocpi.response import ocpi_response
from echargo.ocpi.routing import check_body_id, check_body_owner
from echargo.ocpi.views import OcpiView
from echargo.ocpi.wire import validated

from . import selectors, services
from .models import TokenType
from .wire import TokenPatchSerializer, TokenSerializer, location_references_in, token_to_ocpi


def _token_type(request: Request) -> str:
    """The `type` query parameter; RFID when omitted (OCPI 2.2.1 tokens)."""
    value = request.query_params.get("type") or TokenType.RFID
    if value not in TokenType.values:
        raise InvalidParameters(f"Unknown token type {value!r}.")
    return value


class EmspTokenListView(OcpiView):
    ocpi_module = "tokens"

    def get(self, request: Request) -> Response:
        data, headers = paginate_queryset(
            request,
            selectors.token_list_own(),
            render=lambda rows: [token_to_ocpi(t) for t in rows],
        )
        return ocpi_response(data, headers=headers)


class EmspTokenAuthorizeView(OcpiView):
    ocpi_module = "tokens"

    def post(self, request: Request, token_uid: str) -> Response:
        # The body is optional: none (parsed as {}) asks without a location; anything else
        # must be a LocationReferences object ([] or null is 2001, not "no location").
        data = request.data
        location = None if isinstance(data, Mapping) and not data else location_references_in(data)
        info = services.token_authorize_for_partner(
            connection=caller_of(request).connection,
            uid=token_uid,
            type=_token_type(request),
            location=location,
        )
        return ocpi_response(info)


class CpoTokensReceiverView(OcpiView):
    """The base URL we announce for our tokens Receiver; objects live below it."""

    ocpi_module = "tokens"


class CpoTokenView(OcpiView):
    ocpi_module = "tokens"

    def get(self, request: Request, country_code: str, party_id: str, token_uid: str) -> Response:
        owner = owner_of_url(request, country_code, party_id, role=Role.EMSP)
        token = selectors.token_of_partner(owner=owner, uid=token_uid, type=_token_type(request))
        if token is None:
            raise UnknownObject("Unknown token.")
        return ocpi_response(token_to_ocpi(token))

    def put(self, request: Request, country_code: str, party_id: str, token_uid: str) -> Response:
        owner = owner_of_url(request, country_code, party_id, role=Role.EMSP)
        body = body_object(request)
        check_body_owner(body, country_code, party_id)
        check_body_id(body, "uid", token_uid)
        data = validated(TokenSerializer, body)
        if data["type"] != _token_type(request):
            raise InvalidParameters("type in the body differs from the URL.")
        write = services.token_put_from_partner(
            owner=owner, data=data, reason=f"PUT by {caller_of(request).connection}"
        )
        return write_answer(write)

    def patch(self, request: Request, country_code: str, party_id: str, token_uid: str) -> Response:
        owner = owner_of_url(request, country_code, party_id, role=Role.EMSP)
        body = body_object(request)
        check_body_owner(body, country_code, party_id)
        check_body_id(body, "uid", token_uid)
        write = services.token_patch_from_partner(
            owner=owner,
            uid=token_uid,
            type=_token_type(request),
            data=validated(TokenPatchSerializer, body),
            reason=f"PATCH by {caller_of(request).connection}",
        )
        return write_answer(write)
