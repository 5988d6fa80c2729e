"""OCPI commands endpoints: our CPO Receiver (POST /commands/{command}) and our eMSP Sender's
response_url (POST /commands/{command}/{uid}, where partner CPOs post CommandResults)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from apps.partners.authentication import caller_of
from apps.partners.models import Role
from echargo.ocpi import headers as h
from echargo.ocpi.exceptions import InvalidParameters, UnknownObject
from echargo.ocpi.receiver import body_object
from echargo.ocpi.response import ocpi_response
from echargo.ocpi.routing import check_from_headers, ci, to_party
from echargo.ocpi.views import OcpiView
from echargo.ocpi.wire import validated

from . import cpo, services
from .models import CommandType
from .wire import COMMAND_SERIALIZERS, CommandResultSerializer


class CommandsBaseView(OcpiView):
    """The base URLs we announce; commands live below them."""

    ocpi_module = "commands"


class CpoCommandView(OcpiView):
    ocpi_module = "commands"

    def post(self, request: Request, command: str) -> Response:
        if command not in CommandType.values:
            raise InvalidParameters(f"Unknown command {command!r}.")
        check_from_headers(request)
        connection = caller_of(request).connection
        emsps = connection.parties.filter(role=Role.EMSP).order_by("pk")
        sender = request.headers.get(h.FROM_COUNTRY), request.headers.get(h.FROM_PARTY)
        if all(sender):
            emsps = emsps.filter(country_code=ci(sender[0]), party_id=ci(sender[1]))
        data = validated(COMMAND_SERIALIZERS[command], body_object(request))
        answer = cpo.command_receive_from_partner(
            caller=cpo.Caller(connection=connection, emsps=list(emsps), to_party=to_party(request)),
            command=command,
            data=data,
        )
        return ocpi_response(answer.as_ocpi(), status_code=answer.status_code)


class EmspCommandResultView(OcpiView):
    ocpi_module = "commands"

    def post(self, request: Request, command: str, uid: str) -> Response:
        if command not in CommandType.values:
            raise UnknownObject("Unknown command.")
        data = validated(CommandResultSerializer, body_object(request))
        services.command_result_from_partner(
            connection=caller_of(request).connection, command=command, uid=uid, data=data
        )
        return ocpi_response()
