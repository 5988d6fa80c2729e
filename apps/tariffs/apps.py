from django.apps import AppConfig


class TariffsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.tariffs"

    def ready(self) -> None:
        from apps.partners.pull import register_puller
        from echargo.ocpi.registry import RECEIVER, SENDER, register_endpoint

        from .services import tariff_retire_unlisted, tariff_store_pulled

        register_endpoint("tariffs", SENDER, "ocpi-cpo-tariffs")
        register_endpoint("tariffs", RECEIVER, "ocpi-emsp-tariffs")
        register_puller("tariffs", tariff_store_pulled, retire=tariff_retire_unlisted)
