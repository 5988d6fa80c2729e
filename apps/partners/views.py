"""OCPI configuration modules: versions, version details, credentials (both roles share them)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from echargo.ocpi.registry import SUPPORTED_VERSIONS, VERSION, endpoints, public_url
from echargo.ocpi.response import ocpi_response

from . import services
from .authentication import caller_of
from .permissions import AllowRegistrationToken
from .wire import CredentialsSerializer


class VersionsView(APIView):
    ocpi_module = "versions"
    permission_classes = [AllowRegistrationToken]

    def get(self, request: Request) -> Response:
        return ocpi_response(
            [{"version": v, "url": public_url(f"/ocpi/{v}")} for v in SUPPORTED_VERSIONS]
        )


class VersionDetailsView(APIView):
    ocpi_module = "versions"
    permission_classes = [AllowRegistrationToken]

    def get(self, request: Request) -> Response:
        return ocpi_response(
            {
                "version": VERSION,
                "endpoints": [
                    {"identifier": e.identifier, "role": e.role, "url": e.url()}
                    for e in endpoints()
                ],
            }
        )


class CredentialsView(APIView):
    ocpi_module = "credentials"
    permission_classes = [AllowRegistrationToken]

    def get(self, request: Request) -> Response:
        return ocpi_response(services.credentials_for_caller(token=caller_of(request).token))

    def post(self, request: Request) -> Response:
        caller = caller_of(request)
        credentials = _valid_credentials(request)
        answer = services.credentials_register_from_partner(
            connection=caller.connection, token=caller.token, credentials=credentials
        )
        return ocpi_response(answer)

    def put(self, request: Request) -> Response:
        caller = caller_of(request)
        credentials = _valid_credentials(request)
        answer = services.credentials_update_from_partner(
            connection=caller.connection, credentials=credentials
        )
        return ocpi_response(answer)

    def delete(self, request: Request) -> Response:
        services.credentials_unregister_from_partner(connection=caller_of(request).connection)
        return ocpi_response()


def _valid_credentials(request: Request) -> dict:
    serializer = CredentialsSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
