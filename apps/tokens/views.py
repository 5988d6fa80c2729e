"""OCPI tokens endpoints: our eMSP Sender (list, authorize) and our CPO Receiver."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.partners.authentication import caller_of
from echargo.ocpi.exceptions import InvalidParameters, UnknownObject
from echargo.ocpi.pagination import paginate_queryset
from echargo.ocpi.response import ocpi_response
from echargo.ocpi.routing import check_body_id, check_body_owner, require_caller_party

from . import selectors, services
from .models import TokenType
from .wire import TokenPatchSerializer, TokenSerializer, location_references_in, token_to_ocpi


def _token_type(request: Request) -> str:
    """The `type` query parameter; RFID when omitted (OCPI 2.2.1 tokens)."""
    value = request.query_params.get("type") or TokenType.RFID
    if value not in TokenType.values:
        raise InvalidParameters(f"Unknown token type {value!r}.")
    return value


class EmspTokenListView(APIView):
    ocpi_module = "tokens"

    def get(self, request: Request) -> Response:
        data, headers = paginate_queryset(
            request,
            selectors.token_list_own(),
            render=lambda rows: [token_to_ocpi(t) for t in rows],
        )
        return ocpi_response(data, headers=headers)


class EmspTokenAuthorizeView(APIView):
    ocpi_module = "tokens"

    def post(self, request: Request, token_uid: str) -> Response:
        location = location_references_in(request.data) if request.data else None
        info = services.token_authorize_for_partner(
            connection=caller_of(request).connection,
            uid=token_uid,
            type=_token_type(request),
            location=location,
        )
        return ocpi_response(info)


class CpoTokensReceiverView(APIView):
    """The base URL we announce for our tokens Receiver; objects live below it."""

    ocpi_module = "tokens"


class CpoTokenView(APIView):
    ocpi_module = "tokens"

    def get(self, request: Request, country_code: str, party_id: str, token_uid: str) -> Response:
        require_caller_party(request, country_code, party_id)
        owner = services.token_owner_of_partner(
            caller_of(request).connection, country_code, party_id
        )
        token = selectors.token_of_partner(owner=owner, uid=token_uid, type=_token_type(request))
        if token is None:
            raise UnknownObject("Unknown token.")
        return ocpi_response(token_to_ocpi(token))

    def put(self, request: Request, country_code: str, party_id: str, token_uid: str) -> Response:
        require_caller_party(request, country_code, party_id)
        check_body_owner(request.data, country_code, party_id)
        check_body_id(request.data, "uid", token_uid)
        serializer = TokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if serializer.validated_data["type"] != _token_type(request):
            raise InvalidParameters("type in the body differs from the URL.")
        _, created = services.token_upsert_from_partner(
            connection=caller_of(request).connection, data=serializer.validated_data
        )
        return ocpi_response(http_status=201 if created else 200)

    def patch(self, request: Request, country_code: str, party_id: str, token_uid: str) -> Response:
        require_caller_party(request, country_code, party_id)
        check_body_owner(request.data, country_code, party_id)
        check_body_id(request.data, "uid", token_uid)
        connection = caller_of(request).connection
        owner = services.token_owner_of_partner(connection, country_code, party_id)
        token = selectors.token_of_partner(owner=owner, uid=token_uid, type=_token_type(request))
        if token is None:
            raise UnknownObject("Unknown token: PUT it first.")
        serializer = TokenPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.token_patch_from_partner(
            token=token, data=serializer.validated_data, connection=connection
        )
        return ocpi_response()
