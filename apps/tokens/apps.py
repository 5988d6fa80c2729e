from django.apps import AppConfig


class TokensConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.tokens"

    def ready(self) -> None:
        from apps.partners.pull import register_puller
        from echargo.ocpi.registry import RECEIVER, SENDER, register_endpoint

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
