from django.apps import AppConfig


class AuditConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.audit"

    def ready(self) -> None:
        from echargo.ocpi.exchange import Exchange, exchange_completed

        from .services import exchange_record_from_signal

        exchange_completed.connect(
            exchange_record_from_signal, sender=Exchange, dispatch_uid="audit-exchange-log"
        )
