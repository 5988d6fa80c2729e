from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.exceptions import ValidationError

from apps.partners.models import Party, Role
from apps.tokens.models import TokenType, WhitelistType
from apps.tokens.services import token_issue_own


class Command(BaseCommand):
    help = "Issue a token to one of our drivers (pushed to every CPO partner)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("uid")
        parser.add_argument("--type", default=TokenType.RFID, choices=TokenType.values)
        parser.add_argument("--contract-id", required=True)
        parser.add_argument("--issuer", required=True)
        parser.add_argument(
            "--whitelist", default=WhitelistType.ALLOWED, choices=WhitelistType.values
        )
        parser.add_argument("--party", help="CC*PID of our eMSP party (default: the only one).")

    def handle(self, *args: object, **options: object) -> None:
        parties = Party.objects.filter(is_own=True, role=Role.EMSP)
        if options["party"]:
            country_code, _, party_id = str(options["party"]).upper().partition("*")
            parties = parties.filter(country_code=country_code, party_id=party_id)
        if parties.count() != 1:
            raise CommandError("Name exactly one of our eMSP parties with --party CC*PID.")
        try:
            token = token_issue_own(
                owner=parties.get(),
                uid=options["uid"],
                type=options["type"],
                contract_id=options["contract_id"],
                issuer=options["issuer"],
                whitelist=options["whitelist"],
            )
        except ValidationError as exc:
            raise CommandError(f"Invalid token: {exc.detail}") from exc
        self.stdout.write(f"Issued {token}.")
