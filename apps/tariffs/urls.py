from django.urls import re_path

from . import views

# OCPI peers call with and without a trailing slash: accept both, never redirect.
urlpatterns = [
    re_path(r"^cpo/2\.2\.1/tariffs/?$", views.CpoTariffListView.as_view(), name="ocpi-cpo-tariffs"),
    re_path(
        r"^emsp/2\.2\.1/tariffs/?$",
        views.EmspTariffsReceiverView.as_view(),
        name="ocpi-emsp-tariffs",
    ),
    re_path(
        r"^emsp/2\.2\.1/tariffs/(?P<country_code>[^/]+)/(?P<party_id>[^/]+)/(?P<tariff_id>[^/]+)/?$",
        views.EmspTariffView.as_view(),
        name="ocpi-emsp-tariff",
    ),
]
