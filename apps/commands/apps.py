from django.apps import AppConfig


class CommandsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.commands"

    def ready(self) -> None:
        from apps.chargers.signals import charger_command_finished, remote_start_claimed
        from echargo.ocpi.registry import RECEIVER, SENDER, register_endpoint

        from . import cpo

        # eMSP side: the base of our response_urls (commands Sender, OCPI 2.2.1 naming);
        # CPO side: the commands Receiver.
        register_endpoint("commands", SENDER, "ocpi-emsp-commands")
        register_endpoint("commands", RECEIVER, "ocpi-cpo-commands")
        charger_command_finished.connect(
            cpo.on_charger_command_finished, dispatch_uid="commands-charger-command-finished"
        )
        remote_start_claimed.connect(
            cpo.on_remote_start_claimed, dispatch_uid="commands-remote-start-claimed"
        )
