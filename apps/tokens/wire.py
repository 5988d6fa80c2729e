"""OCPI 2.2.1 Token, LocationReferences and AuthorizationInfo on the wire (mod_tokens)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from echargo.ocpi.fields import (
    CiStringField,
    LastUpdatedField,
    OcpiStringField,
    format_ocpi_datetime,
)
from echargo.ocpi.wire import many, optional

from .models import AllowedType, ProfileType, Token, TokenType, WhitelistType


class EnergyContractSerializer(serializers.Serializer):
    supplier_name = OcpiStringField(max_length=64)
    contract_id = optional(OcpiStringField, 64)


class TokenSerializer(serializers.Serializer):
    """A complete Token, as PUT to our CPO receiver or pulled from an eMSP."""

    country_code = CiStringField(max_length=2, min_length=2)
    party_id = CiStringField(max_length=3, min_length=3)
    uid = CiStringField(max_length=36, min_length=1)
    type = serializers.ChoiceField(choices=TokenType.choices)
    contract_id = CiStringField(max_length=36, min_length=1)
    visual_number = optional(OcpiStringField, 64)
    issuer = OcpiStringField(max_length=64)
    group_id = optional(CiStringField, 36)
    valid = serializers.BooleanField()
    whitelist = serializers.ChoiceField(choices=WhitelistType.choices)
    language = optional(OcpiStringField, 2)
    default_profile_type = optional(serializers.ChoiceField, choices=ProfileType.choices)
    energy_contract = optional(EnergyContractSerializer)
    last_updated = LastUpdatedField()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # DRF's BooleanField accepts "true"/1; OCPI booleans are JSON booleans only.
        if isinstance(data, dict) and "valid" in data and not isinstance(data["valid"], bool):
            raise serializers.ValidationError({"valid": ["Must be a JSON boolean."]})
        return super().to_internal_value(data)


class TokenPatchSerializer(TokenSerializer):
    """A PATCH: any subset of fields, but last_updated is required (OCPI 2.2.1, ocpi/ocpi#355)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "last_updated" not in attrs:
            raise serializers.ValidationError({"last_updated": ["Required in a PATCH."]})
        return attrs


class LocationReferencesSerializer(serializers.Serializer):
    location_id = CiStringField(max_length=36, min_length=1)
    evse_uids = many(CiStringField(36))


def location_references_in(data: Any) -> dict[str, Any]:
    """The LocationReferences of an authorize request, validated by the serializer's fields.

    Runs on every authorization a partner asks of us: a Serializer instance deep-copies its
    fields first, which cost more than all other parsing of the request. The declared fields
    are used as they are (unbound: run_validation keeps no state), with the same errors.
    """
    if not isinstance(data, dict):
        raise serializers.ValidationError(
            {"non_field_errors": ["Invalid data. Expected a dictionary."]}
        )
    values, errors = {}, {}
    for name, field in LocationReferencesSerializer._declared_fields.items():
        try:
            values[name] = field.run_validation(data.get(name, empty))
        except SkipField:  # an optional field left out
            continue
        except serializers.ValidationError as exc:
            errors[name] = exc.detail
    if errors:
        raise serializers.ValidationError(errors)
    return values


def token_to_ocpi(token: Token) -> dict[str, Any]:
    """The Token object; optional fields left out when empty."""
    data: dict[str, Any] = {
        "country_code": token.country_code,
        "party_id": token.party_id,
        "uid": token.uid,
        "type": token.type,
        "contract_id": token.contract_id,
    }
    if token.visual_number:
        data["visual_number"] = token.visual_number
    data["issuer"] = token.issuer
    if token.group_id:
        data["group_id"] = token.group_id
    data["valid"] = token.valid
    data["whitelist"] = token.whitelist
    if token.language:
        data["language"] = token.language
    if token.default_profile_type:
        data["default_profile_type"] = token.default_profile_type
    if token.energy_contract:
        data["energy_contract"] = token.energy_contract
    data["last_updated"] = format_ocpi_datetime(token.last_updated)
    return data


def authorization_info(
    *,
    allowed: str,
    token: Token,
    location: dict[str, Any] | None,
    authorization_reference: str,
    info: str,
) -> dict[str, Any]:
    """AuthorizationInfo: the outcome, the complete token, the location, our reference."""
    data: dict[str, Any] = {"allowed": allowed, "token": token_to_ocpi(token)}
    if location is not None:
        data["location"] = location
    data["authorization_reference"] = authorization_reference
    data["info"] = {"language": "en", "text": info}
    return data


class AuthorizationInfoSerializer(serializers.Serializer):
    """An eMSP's answer to our real-time authorization request."""

    allowed = serializers.ChoiceField(choices=AllowedType.choices)
    token = serializers.DictField()
    location = optional(LocationReferencesSerializer)
    authorization_reference = optional(CiStringField, 36)
    info = optional(serializers.DictField)
