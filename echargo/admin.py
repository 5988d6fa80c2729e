"""Site-wide admin configuration (autodiscovered after django_celery_beat's admin).

The scheduler's internals (periodic tasks, interval/crontab/solar/clocked schedules) are
operations' tools: a wrong edit stops settlement or pulls for everyone. They stay for
superusers only, whatever permissions a staff member's group holds.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

SCHEDULER_APP = "django_celery_beat"


def _superuser_only(request: HttpRequest, obj: object = None) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


def restrict_app_to_superusers(app_label: str, site: admin.AdminSite = admin.site) -> None:
    for model, model_admin in site._registry.items():
        if model._meta.app_label != app_label:
            continue
        for name in (
            "has_module_permission",
            "has_view_permission",
            "has_add_permission",
            "has_change_permission",
            "has_delete_permission",
        ):
            setattr(model_admin, name, _superuser_only)


restrict_app_to_superusers(SCHEDULER_APP)
