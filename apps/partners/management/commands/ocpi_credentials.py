from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.partners import services
from apps.partners.management.connection_argument import HELP, connection_argument


class Command(BaseCommand):
    help = "Update (PUT, rotates tokens) or unregister (DELETE) our credentials at a partner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["update", "unregister"])
        parser.add_argument("connection", help=HELP)
        parser.add_argument(
            "--force",
            action="store_true",
            help="unregister: revoke locally even if the partner is unreachable.",
        )

    def handle(
        self, *args: object, action: str, connection: str, force: bool, **options: object
    ) -> None:
        target = connection_argument(connection)
        try:
            if action == "update":
                services.connection_update_with_partner(connection=target)
            else:
                services.connection_unregister_with_partner(connection=target, force=force)
        except services.RegistrationFailed as exc:
            raise CommandError(f"{action} failed: {exc}") from exc
        target.refresh_from_db()
        self.stdout.write(self.style.SUCCESS(f"{target}: {action} done, status {target.status}."))
