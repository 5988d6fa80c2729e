from django.urls import re_path

from . import views

# OCPI peers call with and without a trailing slash: accept both, never redirect.
urlpatterns = [
    re_path(
        r"^emsp/2\.2\.1/commands/?$", views.CommandsBaseView.as_view(), name="ocpi-emsp-commands"
    ),
    re_path(
        r"^emsp/2\.2\.1/commands/(?P<command>[^/]+)/(?P<uid>[^/]+)/?$",
        views.EmspCommandResultView.as_view(),
        name="ocpi-emsp-command-result",
    ),
    re_path(
        r"^cpo/2\.2\.1/commands/?$", views.CommandsBaseView.as_view(), name="ocpi-cpo-commands"
    ),
    re_path(
        r"^cpo/2\.2\.1/commands/(?P<command>[^/]+)/?$",
        views.CpoCommandView.as_view(),
        name="ocpi-cpo-command",
    ),
]
