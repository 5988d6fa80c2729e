from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from apps.partners.models import Party
from apps.settlement.periods import period_parse, period_previous
from apps.settlement.services import statements_build


class Command(BaseCommand):
    help = (
        "Build (or rebuild) the draft settlement statements of a month, both directions. "
        "Approved and closed statements are left as they are."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", help="YYYY-MM (default: last month).")
        parser.add_argument(
            "--partner", help="Only this partner: its connection name or CC*PID code."
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            period = period_parse(str(options["period"])) if options["period"] else None
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        period = period or period_previous()
        counterparties: list[tuple[str, str] | None] = [None]
        if options["partner"]:
            counterparties = self._counterparties(str(options["partner"]))
        count = 0
        for counterparty in counterparties:
            for statement in statements_build(period_start=period, counterparty=counterparty):
                count += 1
                self.stdout.write(
                    f"{statement}: {statement.cdr_count} CDRs, {statement.energy_kwh:f} kWh, "
                    f"{statement.total_excl_vat:f} excl. VAT / {statement.total_incl_vat:f} "
                    f"incl. VAT; {statement.held_count} held out"
                )
        self.stdout.write(f"{count} draft statements for {period:%Y-%m}.")

    def _counterparties(self, name: str) -> list[tuple[str, str] | None]:
        country_code, star, party_id = name.upper().partition("*")
        query = Q(connection__name__iexact=name)
        if star:
            query |= Q(country_code=country_code, party_id=party_id)
        codes = sorted(
            set(Party.objects.filter(query, is_own=False).values_list("country_code", "party_id"))
        )
        if not codes:
            raise CommandError(f"No partner connection or party named {name!r}.")
        return list(codes)
