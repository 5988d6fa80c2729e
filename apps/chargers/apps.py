from django.apps import AppConfig


class ChargersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.chargers"
    verbose_name = "Our chargers (OCPP)"
