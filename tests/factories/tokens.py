"""Tokens valid on the OCPI 2.2.1 wire by default."""

from __future__ import annotations

import factory
from django.utils import timezone

from apps.tokens.models import Token


class TokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Token

    uid = factory.Sequence(lambda n: f"04A1B2C3D4{n:06d}")
    type = "RFID"
    contract_id = factory.Sequence(lambda n: f"TR-ECH-C{n:08d}")
    issuer = "echargo Test Operator"
    valid = True
    whitelist = "ALLOWED"
    last_updated = factory.LazyFunction(timezone.now)
