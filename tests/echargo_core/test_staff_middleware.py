"""The staff site keeps its whole middleware chain; partner calls under /ocpi/ skip it."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

ADMIN_REQUIRES = (
    # What the admin's system checks (admin.E408-E410, silenced in settings) look for.
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
)


def test_the_admin_middleware_runs_in_the_staff_chain():
    for path in ADMIN_REQUIRES:
        assert path in settings.STAFF_MIDDLEWARE
    chain = settings.STAFF_MIDDLEWARE
    assert chain.index(ADMIN_REQUIRES[2]) < chain.index(ADMIN_REQUIRES[0])


def test_admin_login_checks_csrf_and_keeps_frame_options():
    get_user_model().objects.create_superuser("boss", "boss@example.com", "s3cret-pass")
    client = Client(enforce_csrf_checks=True)
    form = {"username": "boss", "password": "s3cret-pass", "next": "/admin/"}

    refused = client.post("/admin/login/", form)
    assert refused.status_code == 403  # no CSRF token: the staff chain's process_view ran

    page = client.get("/admin/login/")
    assert page["X-Frame-Options"] == "DENY"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token
    logged_in = client.post("/admin/login/", {**form, "csrfmiddlewaretoken": token.group(1)})
    assert logged_in.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_partner_call_does_not_run_the_staff_chain(api):
    response = api.get("/ocpi/versions")  # no token: 401 in the OCPI envelope
    assert response.status_code == 401
    assert response.json()["status_code"] == 2000
    assert "X-Frame-Options" not in response
    assert "Set-Cookie" not in response
