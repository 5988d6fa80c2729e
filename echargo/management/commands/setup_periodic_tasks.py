import json

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from echargo.schedules import SCHEDULES


class Command(BaseCommand):
    help = "Store the periodic jobs declared in echargo/schedules.py (idempotent, keeps pauses)."

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        for schedule in SCHEDULES:
            minute, hour, day_of_week, day_of_month, month_of_year = schedule.crontab
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_week=day_of_week,
                day_of_month=day_of_month,
                month_of_year=month_of_year,
                timezone="UTC",
            )
            _, created = PeriodicTask.objects.update_or_create(
                name=schedule.name,
                # `enabled` is left alone on update: a job staff paused stays paused.
                defaults={
                    "task": schedule.task,
                    "crontab": crontab,
                    "args": json.dumps(list(schedule.args)),
                    "description": schedule.description,
                },
            )
            self.stdout.write(f"{'created' if created else 'updated'}: {schedule.name}")
