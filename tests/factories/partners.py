"""Parties and connections that are valid OCPI 2.2.1 by default."""

from __future__ import annotations

import factory
from django.utils import timezone

from apps.partners import token_vault
from apps.partners.models import AccessToken, PartnerConnection, Party


class PartnerConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerConnection

    name = factory.Sequence(lambda n: f"Partner {n}")
    status = PartnerConnection.Status.CONNECTED
    version = "2.2.1"
    versions_url = factory.Sequence(lambda n: f"http://127.0.0.1:9/partner{n}/versions")
    registered_at = factory.LazyFunction(timezone.now)


class PartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party
        django_get_or_create = ("country_code", "party_id", "role")

    country_code = "NL"
    party_id = factory.Sequence(lambda n: f"P{n % 100:02d}")
    role = "CPO"
    name = factory.LazyAttribute(lambda p: f"{p.country_code}*{p.party_id} operator")
    connection = factory.SubFactory(PartnerConnectionFactory)


def issue_token(
    connection: PartnerConnection, token: str, kind: str = AccessToken.Kind.ACCESS, expires_at=None
) -> str:
    """Give a connection a known token we accept (tests need it in clear to call us)."""
    AccessToken.objects.create(
        connection=connection,
        kind=kind,
        token_hash=token_vault.token_hash(token),
        token_encrypted=token_vault.encrypt(token),
        expires_at=expires_at,
    )
    return token
