from django.apps import AppConfig


class PartnersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.partners"

    def ready(self) -> None:
        from echargo.ocpi.registry import SENDER, register_endpoint

        register_endpoint("credentials", SENDER, "ocpi-credentials")

        from . import tasks, workers

        workers.plug(
            deliver=tasks.outbox_deliver_task.apply_async,
            sync_step=tasks.initial_sync_task.apply_async,
        )
