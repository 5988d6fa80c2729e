from django.apps import AppConfig


class ChargingSessionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.sessions"
    # django.contrib.sessions already owns the label "sessions".
    label = "charging_sessions"
