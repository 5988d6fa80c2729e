from celery import shared_task

from .periods import period_parse, period_previous
from .services import statements_build


@shared_task(acks_late=True)
def statements_build_task(period: str | None = None) -> int:
    """Build the draft statements of a month (default: the last one); how many."""
    period_start = period_parse(period) if period else period_previous()
    return len(statements_build(period_start=period_start))
