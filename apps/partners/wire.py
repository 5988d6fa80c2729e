"""OCPI 2.2.1 versions and credentials objects (version_information_endpoint, credentials)."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers

from echargo.ocpi.fields import CiStringField, OcpiStringField
from echargo.ocpi.wire import BusinessDetailsSerializer

from .models import Role

# Credentials token: printable, non-whitespace ASCII (OCPI 2.2.1 d2, U+0021..U+007E).
_TOKEN_CHARS = re.compile(r"^[\x21-\x7e]+$")


class CredentialsRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    business_details = BusinessDetailsSerializer()
    party_id = CiStringField(max_length=3, min_length=3)
    country_code = CiStringField(max_length=2, min_length=2)


class CredentialsSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=64, trim_whitespace=False)
    url = OcpiStringField(max_length=255)
    roles = CredentialsRoleSerializer(many=True, allow_empty=False)

    def to_internal_value(self, data: Any) -> Any:
        # DRF's CharField turns a JSON number into text: a token (or URL) of 0 would be taken
        # and our call to the partner's versions would fail as 3001. They are strings (2001).
        if isinstance(data, dict):
            wrong = [k for k in ("token", "url") if k in data and not isinstance(data[k], str)]
            if wrong:
                raise serializers.ValidationError({k: ["Must be a JSON string."] for k in wrong})
        return super().to_internal_value(data)

    def validate_token(self, value: str) -> str:
        if not _TOKEN_CHARS.match(value):
            raise serializers.ValidationError("Only printable non-whitespace ASCII is allowed.")
        return value

    def validate_url(self, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise serializers.ValidationError("Must be an http(s) URL.")
        return value

    def validate_roles(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        keys = [(r["role"], r["country_code"].upper(), r["party_id"].upper()) for r in value]
        if len(set(keys)) != len(keys):
            raise serializers.ValidationError("Each (role, country_code, party_id) must be unique.")
        return value


class VersionSerializer(serializers.Serializer):
    version = serializers.CharField(max_length=10)
    url = OcpiStringField(max_length=255)


class EndpointSerializer(serializers.Serializer):
    identifier = serializers.CharField(max_length=50)
    role = serializers.ChoiceField(choices=["SENDER", "RECEIVER"])
    url = OcpiStringField(max_length=255)


class VersionDetailsSerializer(serializers.Serializer):
    version = serializers.CharField(max_length=10)
    endpoints = EndpointSerializer(many=True, allow_empty=False)


def parse_or_none(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> Any:
    """Validated data of a partner's answer, or None when it does not follow the spec."""
    serializer = serializer_class(data=data, **kwargs)
    return serializer.validated_data if serializer.is_valid() else None
