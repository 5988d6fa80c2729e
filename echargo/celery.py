"""The Celery app: settings come from Django's (CELERY_* names)."""

import os

from celery import Celery
from celery.signals import worker_process_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echargo.settings")

app = Celery("echargo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_shutdown.connect
def _flush_log_batches(**kwargs: object) -> None:
    # Pool processes leave through os._exit, which skips atexit: write queued log rows first.
    from apps.audit.log_writer import flush_all

    flush_all()
