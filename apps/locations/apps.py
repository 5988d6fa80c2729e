from django.apps import AppConfig


class LocationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.locations"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from apps.partners.models import Party
        from apps.partners.publishing import register_current_document, register_initial_sync
        from apps.partners.pull import register_puller
        from apps.tokens.signals import partner_token_stored
        from echargo.ocpi.registry import RECEIVER, SENDER, register_endpoint

        from .publishing import location_current_document, location_initial_sync_batch
        from .services import location_retire_unlisted, location_store_pulled
        from .visibility import on_partner_token_stored, on_party_saved

        register_endpoint("locations", SENDER, "ocpi-cpo-locations")
        register_endpoint("locations", RECEIVER, "ocpi-emsp-locations")
        register_puller("locations", location_store_pulled, retire=location_retire_unlisted)
        register_initial_sync("locations", location_initial_sync_batch, receiver_role="EMSP")
        register_current_document("locations", location_current_document)
        post_save.connect(on_party_saved, sender=Party, dispatch_uid="locations-party-visibility")
        # publish_allowed_to names drivers' tokens: a partner token stored may change who sees.
        partner_token_stored.connect(
            on_partner_token_stored, dispatch_uid="locations-token-visibility"
        )
