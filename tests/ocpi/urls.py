"""A tiny functional module used only to test the protocol layer on its own.

It lists parties through the shared pagination and checks URL ownership through the shared
routing helpers, exactly as the real modules do.
"""

from django.urls import include, path, re_path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.partners.models import Party
from echargo.ocpi.pagination import paginate_queryset
from echargo.ocpi.response import ocpi_response
from echargo.ocpi.routing import check_body_owner, require_caller_party


class PartyListView(APIView):
    ocpi_module = "testparties"

    def get(self, request: Request) -> Response:
        data, headers = paginate_queryset(
            request,
            Party.objects.all(),
            render=lambda rows: [
                {"country_code": p.country_code, "party_id": p.party_id, "role": p.role}
                for p in rows
            ],
        )
        return ocpi_response(data, headers=headers)


class PartyObjectView(APIView):
    ocpi_module = "testparties"

    def get(self, request: Request, country_code: str, party_id: str) -> Response:
        require_caller_party(request, country_code, party_id)
        return ocpi_response({"country_code": country_code.upper(), "party_id": party_id.upper()})

    def put(self, request: Request, country_code: str, party_id: str) -> Response:
        require_caller_party(request, country_code, party_id)
        check_body_owner(request.data, country_code, party_id)
        return ocpi_response()


urlpatterns = [
    re_path(r"^ocpi/test/parties/?$", PartyListView.as_view()),
    re_path(
        r"^ocpi/test/parties/(?P<country_code>[^/]+)/(?P<party_id>[^/]+)/?$",
        PartyObjectView.as_view(),
    ),
    path("", include("echargo.urls")),
]
