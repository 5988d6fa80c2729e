from django.apps import AppConfig


class TokensConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.tokens"

    def ready(self) -> None:
        from apps.partners.publishing import register_current_document, register_initial_sync
        from apps.partners.pull import register_puller
        from echargo.ocpi.registry import RECEIVER, SENDER, register_endpoint

        from .publishing import token_current_document, token_initial_sync_batch
        from .services import token_retire_unlisted, token_store_pulled

        # eMSP side: our drivers' tokens; CPO side: partners' tokens pushed to us.
        register_endpoint("tokens", SENDER, "ocpi-emsp-tokens")
        register_endpoint("tokens", RECEIVER, "ocpi-cpo-tokens")
        register_puller(
            "tokens",
            token_store_pulled,
            retire=token_retire_unlisted,
            id_field="uid",
            sender_role="EMSP",
        )
        register_initial_sync("tokens", token_initial_sync_batch, receiver_role="CPO")
        register_current_document("tokens", token_current_document)
