from django.core.management.base import BaseCommand, CommandParser

from apps.tokens.models import TokenType
from apps.tokens.station_authorization import token_authorize_at_station


class Command(BaseCommand):
    help = (
        "Decide a tap at one of our stations as a charger would ask, and print the decision: "
        "our own drivers' tokens locally (valid or blocked); partners' tokens by their "
        "whitelist rule, asking their eMSP in real time where the rule says so."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("uid")
        parser.add_argument("--type", default=TokenType.RFID, choices=TokenType.values)
        parser.add_argument("--location", required=True, help="Our location id.")
        parser.add_argument("--evse", help="EVSE uid.")
        parser.add_argument("--emsp", help="CC*PID of the token's eMSP when we do not hold it.")

    def handle(self, *args: object, **options: object) -> None:
        emsp = None
        if options["emsp"]:
            country_code, _, party_id = str(options["emsp"]).partition("*")
            emsp = (country_code, party_id)
        decision = token_authorize_at_station(
            uid=options["uid"],
            type=options["type"],
            location_id=options["location"],
            evse_uid=options["evse"],
            emsp=emsp,
        )
        self.stdout.write(
            f"allowed={decision.allowed or 'UNKNOWN'} source={decision.source} "
            f"reference={decision.authorization_reference or '-'} "
            f"detail={decision.detail}"
        )
