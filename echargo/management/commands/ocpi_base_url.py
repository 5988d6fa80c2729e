import os
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from echargo.ocpi.registry import versions_url


class Command(BaseCommand):
    help = (
        "Show the base URL we announce to partners and where it comes from; with --record URL "
        "(bin/demo does it), store it for every later command of this demo database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--record", metavar="URL", help="e.g. http://127.0.0.1:8765")

    def handle(self, *args: object, record: str | None, **options: object) -> None:
        path = settings.OCPI_BASE_URL_FILE
        if record is not None:
            url = record.strip().rstrip("/")
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise CommandError(f"{record!r} is not a base URL like http://127.0.0.1:8765.")
            if path is None:
                raise CommandError(
                    "Only a demo on SQLite outside production records its base URL; "
                    "set OCPI_BASE_URL in the environment instead."
                )
            path.write_text(url + "\n")
            self.stdout.write(f"Recorded {url} in {path}.")
            return
        self.stdout.write(f"Base URL: {settings.OCPI_BASE_URL}  (versions: {versions_url()})")
        if os.environ.get("OCPI_BASE_URL"):
            self.stdout.write("From the environment (OCPI_BASE_URL).")
        elif path is not None and path.is_file():
            self.stdout.write(f"Recorded by bin/demo in {path}.")
        else:
            self.stdout.write("The default: set OCPI_BASE_URL, or run bin/demo.")
