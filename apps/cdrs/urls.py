from django.urls import re_path

from . import views

# OCPI peers call with and without a trailing slash: accept both, never redirect.
urlpatterns = [
    re_path(r"^cpo/2\.2\.1/cdrs/?$", views.CpoCdrListView.as_view(), name="ocpi-cpo-cdrs"),
    re_path(r"^emsp/2\.2\.1/cdrs/?$", views.EmspCdrsReceiverView.as_view(), name="ocpi-emsp-cdrs"),
    re_path(
        r"^emsp/2\.2\.1/cdrs/(?P<country_code>[^/]+)/(?P<party_id>[^/]+)/(?P<cdr_id>[^/]+)/?$",
        views.EmspCdrView.as_view(),
        name="ocpi-emsp-cdr",
    ),
]
