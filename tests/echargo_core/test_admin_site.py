"""Admin site rules that hold across apps: scheduler pages for superusers only (echargo/admin.py),
our own parties protected from deletion (apps/partners/admin.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from apps.partners.models import Party

pytestmark = pytest.mark.django_db

BEAT_PAGES = [
    "/admin/django_celery_beat/periodictask/",
    "/admin/django_celery_beat/crontabschedule/",
    "/admin/django_celery_beat/clockedschedule/",
    "/admin/django_celery_beat/solarschedule/",
    "/admin/django_celery_beat/intervalschedule/",
]


@pytest.fixture
def operator(client):
    """A staff member holding every permission, but not a superuser."""
    user = get_user_model().objects.create_user("mehmet", "m@echargo.example", "pw", is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    client.force_login(user)
    return client


@pytest.fixture
def superuser(client):
    user = get_user_model().objects.create_superuser("root", "root@echargo.example", "pw")
    client.force_login(user)
    return client


def test_scheduler_pages_are_hidden_from_staff_even_with_every_permission(operator):
    index = operator.get("/admin/").content.decode()
    assert "django_celery_beat" not in index
    assert "Locations" in index  # the rest of the index is still there
    for page in BEAT_PAGES:
        assert operator.get(page).status_code == 403, page


def test_superusers_keep_the_scheduler_pages(superuser):
    assert "django_celery_beat" in superuser.get("/admin/").content.decode()
    for page in BEAT_PAGES:
        assert superuser.get(page).status_code == 200, page


def test_our_own_party_has_no_delete_button_and_cannot_be_deleted(superuser, our_parties, hub):
    own = our_parties[0]
    change = superuser.get(f"/admin/partners/party/{own.pk}/change/").content.decode()
    assert "/delete/" not in change
    assert superuser.get(f"/admin/partners/party/{own.pk}/delete/").status_code == 403
    superuser.post(f"/admin/partners/party/{own.pk}/delete/", {"post": "yes"})
    # Nor through "Delete selected" together with a partner's party.
    partner = Party.objects.filter(is_own=False).first()
    response = superuser.post(
        "/admin/partners/party/",
        {"action": "delete_selected", "_selected_action": [own.pk, partner.pk], "post": "yes"},
    )
    assert response.status_code == 403
    assert Party.objects.filter(pk=own.pk).exists()


def test_a_partners_party_can_still_be_deleted(superuser, our_parties, hub):
    partner = Party.objects.filter(is_own=False).first()
    change = superuser.get(f"/admin/partners/party/{partner.pk}/change/").content.decode()
    assert f"/admin/partners/party/{partner.pk}/delete/" in change
