import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from apps.locations.demo import demo_locations_seed
from apps.partners.services import party_upsert_own
from apps.tariffs.demo import demo_tariffs_seed
from apps.tokens.demo import demo_tokens_seed
from echargo.ocpi.registry import versions_url

STAFF = "staff"


class Command(BaseCommand):
    help = (
        "Seed the demo operator TR*ECH (CPO and eMSP): stations in Istanbul and Ankara with "
        "tariffs in TRY, our drivers' tokens, a staff login. Safe to run again: what exists "
        "stays as it is (staff edits too)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset-password",
            action="store_true",
            help=f"Give the {STAFF!r} login a new password and print it.",
        )

    @transaction.atomic
    def handle(self, *args: object, reset_password: bool, **options: object) -> None:
        parties = party_upsert_own(
            country_code="TR",
            party_id="ECH",
            roles=["CPO", "EMSP"],
            name="echargo Demo Operator",
            website="https://echargo.example",
        )
        cpo = next(p for p in parties if p.role == "CPO")
        emsp = next(p for p in parties if p.role == "EMSP")
        # Tariffs first: the stations' connectors name them.
        tariffs = demo_tariffs_seed(owner=cpo)
        stations = demo_locations_seed(owner=cpo)
        tokens = demo_tokens_seed(owner=emsp)
        login = self._staff_login(reset_password)
        self.stdout.write("Demo operator TR*ECH (CPO + eMSP) is ready.")
        self.stdout.write(
            f"New: {stations} stations in Istanbul and Ankara, {tariffs} tariffs in TRY, "
            f"{tokens} driver tokens."
        )
        self.stdout.write(f"Admin:        {settings.OCPI_BASE_URL}/admin/   login {login}")
        self.stdout.write(f"OCPI versions: {versions_url()}")

    def _staff_login(self, reset_password: bool) -> str:
        User = get_user_model()
        user = User.objects.filter(username=STAFF).first()
        if user is None or reset_password:
            password = secrets.token_urlsafe(9)
            if user is None:
                User.objects.create_superuser(STAFF, "staff@echargo.example", password)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            return f"{STAFF} / {password}"
        return (
            f"{STAFF} / (the password printed on the first run; "
            "`manage.py seed_demo --reset-password` prints a new one)"
        )
