from django.urls import re_path

from . import views

# OCPI peers call with and without a trailing slash: accept both, never redirect.
urlpatterns = [
    re_path(
        r"^cpo/2\.2\.1/sessions/?$", views.CpoSessionListView.as_view(), name="ocpi-cpo-sessions"
    ),
    re_path(
        r"^cpo/2\.2\.1/sessions/(?P<session_id>[^/]+)/charging_preferences/?$",
        views.CpoChargingPreferencesView.as_view(),
        name="ocpi-cpo-session-charging-preferences",
    ),
    re_path(
        r"^emsp/2\.2\.1/sessions/?$",
        views.EmspSessionsReceiverView.as_view(),
        name="ocpi-emsp-sessions",
    ),
    re_path(
        r"^emsp/2\.2\.1/sessions/(?P<country_code>[^/]+)/(?P<party_id>[^/]+)/(?P<session_id>[^/]+)/?$",
        views.EmspSessionView.as_view(),
        name="ocpi-emsp-session",
    ),
]
