from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.partners import services
from apps.partners.models import PartnerConnection


class Command(BaseCommand):
    help = "Update (PUT, rotates tokens) or unregister (DELETE) our credentials at a partner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["update", "unregister"])
        parser.add_argument("connection", help="Connection id or exact name.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="unregister: revoke locally even if the partner is unreachable.",
        )

    def handle(
        self, *args: object, action: str, connection: str, force: bool, **options: object
    ) -> None:
        lookup = {"pk": int(connection)} if connection.isdigit() else {"name": connection}
        try:
            target = PartnerConnection.objects.get(**lookup)
        except PartnerConnection.DoesNotExist as exc:
            raise CommandError(f"No connection {connection!r}.") from exc
        try:
            if action == "update":
                services.connection_update_with_partner(connection=target)
            else:
                services.connection_unregister_with_partner(connection=target, force=force)
        except services.RegistrationFailed as exc:
            raise CommandError(f"{action} failed: {exc}") from exc
        target.refresh_from_db()
        self.stdout.write(self.style.SUCCESS(f"{target}: {action} done, status {target.status}."))
