from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.partners.management.connection_argument import HELP, connection_argument
from apps.partners.models import PartnerConnection
from apps.partners.pull import PullResult, pull_run, pullable_modules


class Command(BaseCommand):
    help = "Pull a partner's objects now: ocpi_pull <partner> [--module M] [--full]."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("partner", help=HELP)
        parser.add_argument(
            "--module",
            choices=pullable_modules(),
            action="append",
            help="Module to pull (repeatable); default: all the partner sends.",
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="Ignore date_from; fetch all, and retire what the partner no longer lists.",
        )

    def handle(
        self, *args: object, partner: str, module: list[str] | None, full: bool, **options: object
    ) -> None:
        connection = connection_argument(partner)
        if connection.status != PartnerConnection.Status.CONNECTED:
            # As the scheduled pulls: only a connected partner is called (we hold its token).
            raise CommandError(f"{connection} is {connection.status}, not connected: no pull.")
        modules = module or [m for m in pullable_modules() if connection.endpoint_url(m, "SENDER")]
        failed = False
        for name in modules:
            result = pull_run(connection=connection, module=name, full=full, on_page=self._progress)
            self.stdout.write("")
            line = (
                f"{name}: {result.stored} stored, {result.rejected} rejected, "
                f"{result.retired} retired, {result.pages} pages"
            )
            self.stdout.write(
                self.style.SUCCESS(line) if result.completed else self.style.ERROR(line)
            )
            for error in result.errors[:10]:
                self.stdout.write(f"  {error}")
            failed |= not result.completed
        if failed:
            raise CommandError("Some pulls did not complete.")

    def _progress(self, result: PullResult, total: int | None) -> None:
        if total:
            done = min(result.received, total)
            bar = "#" * int(30 * done / total)
            self.stdout.write(f"\r{result.module} [{bar:<30}] {done}/{total}", ending="")
        else:
            self.stdout.write(f"\r{result.module} {result.received} objects", ending="")
        self.stdout.flush()
