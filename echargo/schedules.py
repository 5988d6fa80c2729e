"""Every periodic job, declared in code. `manage.py setup_periodic_tasks` stores them in
django-celery-beat, where staff can pause or retime one in the admin."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    # crontab fields: minute, hour, day_of_week, day_of_month, month_of_year
    crontab: tuple[str, str, str, str, str]
    description: str
    args: tuple = ()


SCHEDULES: list[Schedule] = [
    # Every minute, wake push delivery for partners with due outbox messages: retries after
    # backoff, and wake-ups that were lost while Redis was down.
    Schedule(
        name="partners: sweep the outbox",
        task="apps.partners.tasks.outbox_sweep_task",
        crontab=("*", "*", "*", "*", "*"),
        description="Wakes outbox delivery for every connection with due messages.",
    ),
    # Every hour at minute 7, fetch what changed in partners' locations since the last pull
    # (a safety net beside their pushes; OCPI advises hour-scale polling).
    Schedule(
        name="locations: pull from partners",
        task="apps.partners.tasks.pull_module_task",
        crontab=("7", "*", "*", "*", "*"),
        description="Incremental GET of every CPO partner's locations (date_from).",
        args=("locations",),
    ),
    # Every hour at minute 27, the same for tariffs.
    Schedule(
        name="tariffs: pull from partners",
        task="apps.partners.tasks.pull_module_task",
        crontab=("27", "*", "*", "*", "*"),
        description="Incremental GET of every CPO partner's tariffs (date_from).",
        args=("tariffs",),
    ),
    # Every 15 minutes, fetch eMSP partners' token changes: the whitelist our chargers decide on.
    Schedule(
        name="tokens: pull from partners",
        task="apps.partners.tasks.pull_module_task",
        crontab=("*/15", "*", "*", "*", "*"),
        description="Incremental GET of every eMSP partner's tokens (date_from).",
        args=("tokens",),
    ),
    # Every 15 minutes at 11, fetch CPO partners' sessions changed since the last pull: the
    # safety net for session pushes a partner lost (never retires a session).
    Schedule(
        name="sessions: pull from partners",
        task="apps.partners.tasks.pull_module_task",
        crontab=("11-59/15", "*", "*", "*", "*"),
        description="Incremental GET of every CPO partner's sessions (date_from).",
        args=("sessions",),
    ),
    # Every minute, our PENDING sessions that never started end INVALID.
    Schedule(
        name="sessions: end pending sessions that never started",
        task="apps.sessions.tasks.sessions_pending_expire_task",
        crontab=("*", "*", "*", "*", "*"),
        description="INVALID for PENDING sessions older than SESSIONS_PENDING_TIMEOUT_SECONDS.",
    ),
    # Every hour at minute 47, fetch CPO partners' new CDRs: a safety net that finds what a
    # POST missed (stored once; never retires anything).
    Schedule(
        name="cdrs: pull from partners",
        task="apps.partners.tasks.pull_module_task",
        crontab=("47", "*", "*", "*", "*"),
        description="Incremental GET of every CPO partner's CDRs (date_from).",
        args=("cdrs",),
    ),
    # Every minute, end every command: ours that got no result within the CPO's timeout
    # become TIMEOUT, partners' whose charger command ended get their result queued (should its
    # signal have been lost), and reservations past their end expire.
    Schedule(
        name="commands: end overdue commands",
        task="apps.commands.tasks.commands_sweep_task",
        crontab=("*", "*", "*", "*", "*"),
        description="TIMEOUT for commands without a result in time; partners' results queued.",
    ),
    # Every night at 03:17 UTC, drop exchange-log rows older than the retention period.
    Schedule(
        name="audit: purge old OCPI exchanges",
        task="apps.audit.tasks.exchange_log_purge_task",
        crontab=("17", "3", "*", "*", "*"),
        description="Deletes OCPI exchange-log rows older than OCPI_EXCHANGE_LOG_RETENTION_DAYS.",
    ),
]
