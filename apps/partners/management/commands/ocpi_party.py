from django.core.management.base import BaseCommand, CommandParser

from apps.partners.services import party_upsert_own


class Command(BaseCommand):
    help = (
        "Create or update the party this platform hosts, one per role; run it first, before "
        "inviting or connecting partners (they learn our roles from it). "
        'E.g. ocpi_party TR ECH --name "echargo Istanbul" --roles CPO EMSP.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("country_code", help="ISO 3166-1 alpha-2, e.g. TR.")
        parser.add_argument("party_id", help="Our 3-character party id, e.g. ECH.")
        parser.add_argument(
            "--roles", nargs="+", default=["CPO", "EMSP"], help="Default: CPO EMSP."
        )
        parser.add_argument("--name", required=True, help="Business name partners see.")
        parser.add_argument("--website", default="")

    def handle(self, *args: object, **options: object) -> None:
        parties = party_upsert_own(
            country_code=options["country_code"],
            party_id=options["party_id"],
            roles=options["roles"],
            name=options["name"],
            website=options["website"],
        )
        self.stdout.write("Hosting " + ", ".join(str(p) for p in parties))
