from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.partners.services import RegistrationFailed, connection_register_with_partner


class Command(BaseCommand):
    help = "Register with a partner from its versions URL and token A (credentials handshake)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("versions_url")
        parser.add_argument("token_a")
        parser.add_argument("--name", default="", help="Name for the connection (default: host).")

    def handle(
        self, *args: object, versions_url: str, token_a: str, name: str, **options: object
    ) -> None:
        name = name or urlsplit(versions_url).netloc or versions_url
        try:
            connection = connection_register_with_partner(
                versions_url=versions_url, token_a=token_a, name=name
            )
        except RegistrationFailed as exc:
            raise CommandError(f"Registration failed: {exc}") from exc
        parties = ", ".join(str(p) for p in connection.parties.all())
        self.stdout.write(
            self.style.SUCCESS(
                f"Connected to {connection} (connection #{connection.pk}): "
                f"OCPI {connection.version}, "
                f"{len(connection.endpoints)} endpoints, parties {parties}."
            )
        )
