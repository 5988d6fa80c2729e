"""OCPI tariffs endpoints: our CPO Sender (list) and our eMSP Receiver (GET / PUT / DELETE).

OCPI 2.2.1 mod_tariffs has no PATCH and no POST on tariffs: those methods answer HTTP 405 with
the envelope (DRF raises MethodNotAllowed, the OCPI exception handler wraps it).
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.partners.authentication import caller_of
from echargo.ocpi import headers as h
from echargo.ocpi.exceptions import InvalidParameters, UnknownObject
from echargo.ocpi.pagination import paginate_queryset
from echargo.ocpi.response import ocpi_response
from echargo.ocpi.routing import check_body_id, check_body_owner, require_caller_party

from . import selectors, services
from .wire import TariffSerializer, ocpi_loads


class CpoTariffListView(APIView):
    """GET our tariffs, paginated, filtered on last_updated (date_from / date_to)."""

    ocpi_module = "tariffs"

    def get(self, request: Request) -> Response:
        owner = None
        country, party = request.headers.get(h.TO_COUNTRY), request.headers.get(h.TO_PARTY)
        if country and party:
            # A request routed to one of the CPOs we host gets that CPO's tariffs only
            # (OCPI 2.2.1 transport: message routing).
            owner = selectors.tariff_own_party(country_code=country, party_id=party)
        data, headers = paginate_queryset(
            request,
            selectors.tariff_list_own(owner=owner),
            render=lambda rows: [ocpi_loads(t.ocpi_json) for t in rows],
        )
        return ocpi_response(data, headers=headers)


class EmspTariffsReceiverView(APIView):
    """The base URL we announce for our tariffs Receiver; the tariffs live below it."""

    ocpi_module = "tariffs"


class EmspTariffView(APIView):
    ocpi_module = "tariffs"

    def get(self, request: Request, country_code: str, party_id: str, tariff_id: str) -> Response:
        require_caller_party(request, country_code, party_id)
        owner = services.tariff_owner_of_partner(
            caller_of(request).connection, country_code, party_id
        )
        tariff = selectors.tariff_of_owner(owner=owner, tariff_id=tariff_id)
        if tariff is None:
            raise UnknownObject("Unknown tariff.")
        return ocpi_response(ocpi_loads(tariff.ocpi_json))

    def put(self, request: Request, country_code: str, party_id: str, tariff_id: str) -> Response:
        require_caller_party(request, country_code, party_id)
        if not isinstance(request.data, dict):
            raise InvalidParameters("The body must be a Tariff object.")
        check_body_owner(request.data, country_code, party_id)
        check_body_id(request.data, "id", tariff_id)
        owner = services.tariff_owner_of_partner(
            caller_of(request).connection, country_code, party_id
        )
        serializer = TariffSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.tariff_upsert_from_partner(
            owner=owner,
            data=serializer.validated_data,
            reason=f"PUT by {caller_of(request).connection}",
        )
        if result.stale:
            return ocpi_response(
                message="Not stored: we hold a newer version of this tariff (last_updated "
                f"{serializer.initial_data.get('last_updated')} is older)."
            )
        return ocpi_response(http_status=201 if result.created else 200)

    def delete(
        self, request: Request, country_code: str, party_id: str, tariff_id: str
    ) -> Response:
        require_caller_party(request, country_code, party_id)
        owner = services.tariff_owner_of_partner(
            caller_of(request).connection, country_code, party_id
        )
        deleted = services.tariff_delete_from_partner(
            owner=owner, tariff_id=tariff_id, reason=f"DELETE by {caller_of(request).connection}"
        )
        # DELETE is idempotent: a retried delivery of a DELETE we already applied succeeds.
        return ocpi_response(message="" if deleted else "Unknown tariff; nothing to delete.")
