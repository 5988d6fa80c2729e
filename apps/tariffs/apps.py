from django.apps import AppConfig


class TariffsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.tariffs"

    def ready(self) -> None:
        from apps.partners.publishing import register_current_document, register_initial_sync
        from apps.partners.pull import register_puller
        from echargo.ocpi.registry import RECEIVER, SENDER, register_endpoint

        from .publishing import tariff_current_document, tariff_initial_sync_batch
        from .services import tariff_retire_unlisted, tariff_store_pulled

        register_endpoint("tariffs", SENDER, "ocpi-cpo-tariffs")
        register_endpoint("tariffs", RECEIVER, "ocpi-emsp-tariffs")
        register_puller("tariffs", tariff_store_pulled, retire=tariff_retire_unlisted)
        register_initial_sync("tariffs", tariff_initial_sync_batch, receiver_role="EMSP")
        register_current_document("tariffs", tariff_current_document)
