from django.urls import re_path

from . import views

# OCPI peers call with and without a trailing slash: accept both, never redirect.
urlpatterns = [
    re_path(r"^emsp/2\.2\.1/tokens/?$", views.EmspTokenListView.as_view(), name="ocpi-emsp-tokens"),
    re_path(
        r"^emsp/2\.2\.1/tokens/(?P<token_uid>[^/]+)/authorize/?$",
        views.EmspTokenAuthorizeView.as_view(),
        name="ocpi-emsp-token-authorize",
    ),
    re_path(
        r"^cpo/2\.2\.1/tokens/?$", views.CpoTokensReceiverView.as_view(), name="ocpi-cpo-tokens"
    ),
    re_path(
        r"^cpo/2\.2\.1/tokens/(?P<country_code>[^/]+)/(?P<party_id>[^/]+)/(?P<token_uid>[^/]+)/?$",
        views.CpoTokenView.as_view(),
        name="ocpi-cpo-token",
    ),
]
