from django.apps import AppConfig


class PartnersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.partners"

    def ready(self) -> None:
        from echargo.ocpi.registry import SENDER, register_endpoint

        register_endpoint("credentials", SENDER, "ocpi-credentials")
