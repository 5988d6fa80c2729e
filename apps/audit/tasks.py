from celery import shared_task

from .services import exchange_log_purge


@shared_task(acks_late=True)
def exchange_log_purge_task() -> int:
    return exchange_log_purge()
