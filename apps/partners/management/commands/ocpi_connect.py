from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.partners.services import RegistrationFailed, connection_register_with_partner


class Command(BaseCommand):
    help = (
        "Register with a partner from its versions URL and token A (credentials handshake). "
        "A token A that starts with '-' goes as --token-a=TOKEN_A, or after a '--'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("versions_url")
        parser.add_argument("token_a", nargs="?", help="The partner's token A.")
        # Tokens are free text (OCPI 2.2.1 credentials: string(64)): one that starts with '-'
        # reads as an option when positional; '--token-a=-x...' (with '=') always works.
        parser.add_argument(
            "--token-a", dest="token_a_option", metavar="TOKEN_A", help="Same as token_a."
        )
        parser.add_argument("--name", default="", help="Name for the connection (default: host).")

    def handle(
        self,
        *args: object,
        versions_url: str,
        token_a: str | None,
        token_a_option: str | None,
        name: str,
        **options: object,
    ) -> None:
        if (token_a is None) == (token_a_option is None):
            raise CommandError(
                "Give the partner's token A once: ocpi_connect VERSIONS_URL TOKEN_A, or "
                "--token-a=TOKEN_A when it starts with '-'."
            )
        name = name or urlsplit(versions_url).netloc or versions_url
        try:
            connection = connection_register_with_partner(
                versions_url=versions_url, token_a=token_a or token_a_option or "", name=name
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
