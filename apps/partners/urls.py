from django.urls import re_path

from . import views

# OCPI peers call with and without a trailing slash: accept both, never redirect.
urlpatterns = [
    re_path(r"^versions/?$", views.VersionsView.as_view(), name="ocpi-versions"),
    re_path(r"^2\.2\.1/?$", views.VersionDetailsView.as_view(), name="ocpi-version-details"),
    re_path(r"^2\.2\.1/credentials/?$", views.CredentialsView.as_view(), name="ocpi-credentials"),
]
