"""OCPI tariffs endpoints: our CPO Sender (list) and our eMSP Receiver (GET / PUT / DELETE).

The Receiver follows the recipe of echargo/ocpi/receiver.py. OCPI 2.2.1 mod_tariffs has no
PATCH and no POST on tariffs: those methods answer HTTP 405 with the envelope (DRF raises
MethodNotAllowed, the OCPI exception handler wraps it).
"""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from apps.partners.authentication import caller_of
from apps.partners.models import Role
from echargo.ocpi.exceptions import UnknownObject
from echargo.ocpi.pagination import paginate_queryset
from echargo.ocpi.receiver import body_object, owner_of_url, write_answer
from echargo.ocpi.response import ocpi_response, stored_document_response, stored_list_response
from echargo.ocpi.routing import check_body_id, check_body_owner, to_party
from echargo.ocpi.views import OcpiView
from echargo.ocpi.wire import validated

from . import selectors, services
from .wire import TariffSerializer


class CpoTariffListView(OcpiView):
    """GET our tariffs, paginated, filtered on last_updated (date_from / date_to)."""

    ocpi_module = "tariffs"

    def get(self, request: Request) -> HttpResponse:
        owner = None
        routed_to = to_party(request)
        if routed_to:
            # A request routed to one of the CPOs we host gets that CPO's tariffs only
            # (OCPI 2.2.1 transport: message routing).
            owner = selectors.tariff_own_party(country_code=routed_to[0], party_id=routed_to[1])
        documents, headers = paginate_queryset(
            request,
            selectors.tariff_list_own(owner=owner),
            render=lambda rows: [t.ocpi_json for t in rows],
        )
        return stored_list_response(documents, headers)


class EmspTariffsReceiverView(OcpiView):
    """The base URL we announce for our tariffs Receiver; the tariffs live below it."""

    ocpi_module = "tariffs"


class EmspTariffView(OcpiView):
    ocpi_module = "tariffs"

    def get(
        self, request: Request, country_code: str, party_id: str, tariff_id: str
    ) -> HttpResponse:
        owner = owner_of_url(request, country_code, party_id, role=Role.CPO)
        tariff = selectors.tariff_of_owner(owner=owner, tariff_id=tariff_id)
        if tariff is None:
            raise UnknownObject("Unknown tariff.")
        return stored_document_response(tariff.ocpi_json)

    def put(self, request: Request, country_code: str, party_id: str, tariff_id: str) -> Response:
        owner = owner_of_url(request, country_code, party_id, role=Role.CPO)
        body = body_object(request)
        check_body_owner(body, country_code, party_id)
        check_body_id(body, "id", tariff_id)
        write = services.tariff_put_from_partner(
            owner=owner,
            data=validated(TariffSerializer, body),
            reason=f"PUT by {caller_of(request).connection}",
        )
        return write_answer(write)

    def delete(
        self, request: Request, country_code: str, party_id: str, tariff_id: str
    ) -> Response:
        owner = owner_of_url(request, country_code, party_id, role=Role.CPO)
        deleted = services.tariff_delete_from_partner(
            owner=owner, tariff_id=tariff_id, reason=f"DELETE by {caller_of(request).connection}"
        )
        # DELETE is idempotent: a retried delivery of a DELETE we already applied succeeds.
        return ocpi_response(message="" if deleted else "Unknown tariff; nothing to delete.")
