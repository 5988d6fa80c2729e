import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.commands import services
from apps.commands.models import Command as SentCommand
from apps.locations.models import EVSE
from apps.sessions.models import Session
from apps.tokens.models import Token


class Command(BaseCommand):
    help = (
        "Send an OCPI command to a partner CPO (as staff do in the admin), or show one: "
        "start|reserve --token UID --location ID --evse UID; unlock --location --evse "
        "--connector; stop --session ID; cancel --command N; show --command N."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action", choices=["start", "stop", "unlock", "reserve", "cancel", "show"]
        )
        parser.add_argument("--token", help="uid of one of our drivers' tokens")
        parser.add_argument("--location", help="the partner's location id")
        parser.add_argument("--evse", help="the EVSE uid")
        parser.add_argument("--connector", default="1")
        parser.add_argument("--session", help="session id (stop)")
        parser.add_argument("--command", type=int, help="our command number (cancel, show)")
        parser.add_argument("--minutes", type=int, default=15, help="reservation length")

    def handle(self, *args: object, **o: object) -> None:
        by = "manage.py ocpi_command"
        try:
            if o["action"] == "show":
                command = self._command(o)
            elif o["action"] == "stop":
                session = Session.objects.filter(session_key=str(o["session"]).upper()).first()
                if session is None:
                    raise CommandError("No such session.")
                command = services.command_stop_session(session=session, requested_by=by)
            elif o["action"] == "cancel":
                command = services.command_cancel_reservation(
                    reservation=self._command(o), requested_by=by
                )
            else:
                evse = EVSE.objects.filter(
                    location__location_key=str(o["location"]).upper(),
                    uid_key=str(o["evse"]).upper(),
                    location__owner__is_own=False,
                ).first()
                if evse is None:
                    raise CommandError("No such partner EVSE.")
                if o["action"] == "unlock":
                    connector = evse.connectors.get(connector_key=str(o["connector"]).upper())
                    command = services.command_unlock_connector(
                        connector=connector, requested_by=by
                    )
                else:
                    token = Token.objects.filter(
                        owner__is_own=True, uid_key=str(o["token"]).upper()
                    ).first()
                    if token is None:
                        raise CommandError("No such token of ours.")
                    if o["action"] == "start":
                        command = services.command_start_session(
                            token=token, evse=evse, requested_by=by
                        )
                    else:
                        until = timezone.now() + dt.timedelta(minutes=int(o["minutes"]))
                        command = services.command_reserve_now(
                            token=token, evse=evse, expiry_date=until, requested_by=by
                        )
        except ValidationError as exc:
            raise CommandError(str(exc.detail)) from exc
        self.stdout.write(
            f"command={command.pk} type={command.command} state={command.state} "
            f"response={command.response or '-'} result={command.result or '-'} "
            f"reference={command.authorization_reference or '-'}"
        )

    def _command(self, o: dict) -> SentCommand:
        command = SentCommand.objects.filter(pk=o["command"]).first()
        if command is None:
            raise CommandError("No such command.")
        return command
