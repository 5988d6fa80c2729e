import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from apps.partners.services import party_upsert_own
from echargo.ocpi.registry import versions_url


class Command(BaseCommand):
    help = "Seed the demo operator (TR*ECH, CPO and eMSP) and a staff login; safe to run again."

    def handle(self, *args: object, **options: object) -> None:
        parties = party_upsert_own(
            country_code="TR",
            party_id="ECH",
            roles=["CPO", "EMSP"],
            name="echargo Demo Operator",
            website="https://echargo.example",
        )
        # The demo seed is the one place partners reaches into a domain app: demo data only.
        from apps.locations.demo import demo_locations_seed

        cpo = next(p for p in parties if p.role == "CPO")
        stations = demo_locations_seed(owner=cpo)
        User = get_user_model()
        user = User.objects.filter(username="staff").first()
        if user is None:
            password = secrets.token_urlsafe(9)
            User.objects.create_superuser("staff", "staff@echargo.example", password)
            login = f"staff / {password}"
        else:
            login = "staff / (the password printed when it was first created)"
        self.stdout.write("Demo operator TR*ECH (CPO + eMSP) is ready.")
        self.stdout.write(f"Demo stations in Istanbul and Ankara: {stations} new.")
        self.stdout.write(f"Admin:        {settings.OCPI_BASE_URL}/admin/   login {login}")
        self.stdout.write(f"OCPI versions: {versions_url()}")
