"""Who a history row is attributed to.

Staff edits carry the admin user (simple-history's request middleware). Partner requests and
Celery jobs have no Django user, so their rows go to a named system user instead of nobody.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser

SYSTEM_USERNAME = "ocpi-system"


def system_user() -> AbstractBaseUser:
    """The named user that partner writes and scheduled jobs are recorded under."""
    user, created = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def change_reason_set(obj: Any, reason: str) -> None:
    """The reason simple-history records with the next save of `obj` (its `_change_reason`),
    set through one typed door: models do not declare the attribute, so mypy would refuse
    `obj._change_reason = ...` at every write."""
    obj._change_reason = reason


def change_reason_of(obj: Any) -> str:
    """The reason set for the next save of `obj`, if any."""
    return getattr(obj, "_change_reason", "")


def history_skip_next_save(obj: Any) -> None:
    """Write no history row for the next save of `obj` (simple-history's
    `skip_history_when_saving`): for writes too frequent to be events, such as meter readings."""
    obj.skip_history_when_saving = True


def history_user(instance: Any = None, request: Any = None, **kwargs: Any) -> AbstractBaseUser:
    """simple-history `get_user`: the staff user of the request, else the system user."""
    user = getattr(request, "user", None)
    if isinstance(user, AbstractBaseUser) and user.is_authenticated:
        return user
    return system_user()
