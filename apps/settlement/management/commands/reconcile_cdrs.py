from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.settlement.periods import period_parse
from apps.settlement.services import cdrs_reconcile_period


class Command(BaseCommand):
    help = (
        "Check again the partners' CDRs of a month that have no dispute yet (those received "
        "before settlement was installed, or after a tolerance changed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="YYYY-MM")

    def handle(self, *args: object, **options: object) -> None:
        try:
            period = period_parse(str(options["period"]))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        checked, opened = cdrs_reconcile_period(period_start=period)
        self.stdout.write(f"{checked} CDRs of {period:%Y-%m} checked, {opened} disputes opened.")
