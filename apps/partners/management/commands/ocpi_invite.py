from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.partners.services import ConnectionNameTaken, OwnPartyMissing, connection_invite
from echargo.ocpi.registry import versions_url


class Command(BaseCommand):
    help = "Create a pending partner connection; print our versions URL and a one-time token A."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The partner's name, as staff will see it (unique).")

    def handle(self, *args: object, name: str, **options: object) -> None:
        try:
            connection, token_a = connection_invite(name=name)
        except OwnPartyMissing as exc:
            raise CommandError(exc.message) from exc
        except ConnectionNameTaken as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Invitation for {connection} (connection #{connection.pk}).")
        self.stdout.write("Hand these to the partner over a secure channel:")
        self.stdout.write(f"versions_url: {versions_url()}")
        self.stdout.write(f"token_a: {token_a}")
