"""OCPI cdrs endpoints: our CPO Sender (list) and our eMSP Receiver (POST, GET).

The Receiver follows the recipe of echargo/ocpi/receiver.py; CDRs are POSTed to the module
URL (no object URL: OCPI 2.2.1 mod_cdrs) and answered with a `Location` header naming where
we keep the CDR, which the CPO may GET.
"""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from apps.partners.authentication import caller_of
from apps.partners.models import Role
from echargo.ocpi.exceptions import UnknownObject
from echargo.ocpi.pagination import paginate_queryset
from echargo.ocpi.receiver import body_object, owner_of_url
from echargo.ocpi.registry import public_url
from echargo.ocpi.response import ocpi_response, stored_document_response, stored_list_response
from echargo.ocpi.views import OcpiView

from . import selectors, services
from .wire import cdr_validated


class CpoCdrListView(OcpiView):
    ocpi_module = "cdrs"

    def get(self, request: Request) -> HttpResponse:
        documents, headers = paginate_queryset(
            request,
            selectors.cdr_sender_list(connection=caller_of(request).connection),
            render=lambda rows: [cdr.ocpi_json for cdr in rows],
        )
        return stored_list_response(documents, headers=headers)


class EmspCdrsReceiverView(OcpiView):
    ocpi_module = "cdrs"

    def post(self, request: Request) -> Response:
        body = body_object(request)
        connection = caller_of(request).connection
        cdr, _ = services.cdr_post_from_partner(
            connection=connection,
            data=cdr_validated(body),
            reason=f"POST by {connection}",
        )
        # A re-sent CDR is answered exactly like the first POST (idempotent receiver). The URL
        # is on our public base, as our endpoints are announced (not the request's Host).
        location = public_url(services.cdr_receiver_url(cdr))
        return ocpi_response(headers={"Location": location})


class EmspCdrView(OcpiView):
    ocpi_module = "cdrs"

    def get(self, request: Request, country_code: str, party_id: str, cdr_id: str) -> HttpResponse:
        owner = owner_of_url(request, country_code, party_id, role=Role.CPO)
        cdr = selectors.cdr_of_partner(owner=owner, cdr_id=cdr_id)
        if cdr is None:
            raise UnknownObject("Unknown CDR.")
        return stored_document_response(cdr.ocpi_json)
