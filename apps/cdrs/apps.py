from django.apps import AppConfig


class CdrsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.cdrs"
    verbose_name = "CDRs"

    def ready(self) -> None:
        from apps.partners.publishing import register_delivered
        from apps.partners.pull import register_puller
        from apps.sessions.signals import session_completed
        from echargo.ocpi.registry import RECEIVER, SENDER, register_endpoint

        from .services import cdr_location_header_store, cdr_store_pulled, on_session_completed

        # CPO side: our CDRs for partners' drivers; eMSP side: partners' CDRs for ours.
        register_endpoint("cdrs", SENDER, "ocpi-cpo-cdrs")
        register_endpoint("cdrs", RECEIVER, "ocpi-emsp-cdrs")
        # A safety net beside the CPOs' POSTs; it never retires (CDRs are never deleted).
        register_puller("cdrs", cdr_store_pulled, sender_role="CPO")
        register_delivered("cdrs", cdr_location_header_store)
        session_completed.connect(on_session_completed, dispatch_uid="cdrs.on_session_completed")
