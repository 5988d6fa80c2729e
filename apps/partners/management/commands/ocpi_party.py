from django.core.management.base import BaseCommand, CommandParser

from apps.partners.services import party_upsert_own


class Command(BaseCommand):
    help = "Create or update a party this platform hosts, e.g. ocpi_party TR ECH --roles CPO EMSP."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("country_code")
        parser.add_argument("party_id")
        parser.add_argument("--roles", nargs="+", default=["CPO", "EMSP"])
        parser.add_argument("--name", required=True)
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
