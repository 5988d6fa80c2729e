from django.apps import AppConfig


class ChargingSessionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.sessions"
    # django.contrib.sessions already owns the label "sessions".
    label = "charging_sessions"

    def ready(self) -> None:
        from apps.partners.publishing import register_current_document
        from apps.partners.pull import register_puller
        from echargo.ocpi.registry import RECEIVER, SENDER, register_endpoint

        from .emsp import session_store_pulled
        from .publishing import session_current_document

        register_endpoint("sessions", SENDER, "ocpi-cpo-sessions")
        register_endpoint("sessions", RECEIVER, "ocpi-emsp-sessions")
        # Sessions are never retired: a pull is the safety net for pushes a partner lost.
        register_puller("sessions", session_store_pulled)
        # No initial sync: a new eMSP partner has no sessions with us yet, and a live one
        # arrives by its own PUT.
        register_current_document("sessions", session_current_document)
