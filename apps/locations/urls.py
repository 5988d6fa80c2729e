from django.urls import re_path

from . import views

# OCPI peers call with and without a trailing slash: accept both, never redirect.
_SEGMENT = r"[^/]+"
_OBJECT = (
    rf"(?P<location_id>{_SEGMENT})(?:/(?P<evse_uid>{_SEGMENT}))?(?:/(?P<connector_id>{_SEGMENT}))?"
)

urlpatterns = [
    re_path(
        r"^cpo/2\.2\.1/locations/?$",
        views.CpoLocationListView.as_view(),
        name="ocpi-cpo-locations",
    ),
    re_path(
        rf"^cpo/2\.2\.1/locations/{_OBJECT}/?$",
        views.CpoLocationObjectView.as_view(),
        name="ocpi-cpo-location",
    ),
    re_path(
        r"^emsp/2\.2\.1/locations/?$",
        views.EmspLocationsBaseView.as_view(),
        name="ocpi-emsp-locations",
    ),
    re_path(
        rf"^emsp/2\.2\.1/locations/(?P<country_code>{_SEGMENT})/(?P<party_id>{_SEGMENT})/{_OBJECT}/?$",
        views.EmspLocationObjectView.as_view(),
        name="ocpi-emsp-location",
    ),
]
