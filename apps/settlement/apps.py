from django.apps import AppConfig


class SettlementConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.settlement"

    def ready(self) -> None:
        # The CDRs app announces each new partner CDR; it must not import us (DESIGN.md).
        from apps.cdrs.signals import cdr_received

        from .services import cdr_reconcile_on_receipt

        cdr_received.connect(cdr_reconcile_on_receipt, dispatch_uid="settlement-reconcile")
