"""OCPI 2.2.1 mod_commands on the wire: the five command objects, CommandResponse and
CommandResult, and the Token a StartSession / ReserveNow carries."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.tokens.models import ProfileType, Token, WhitelistType
from echargo.ocpi.enums import TokenType
from echargo.ocpi.fields import (
    CiStringField,
    LastUpdatedField,
    OcpiDateTimeField,
    OcpiStringField,
    format_ocpi_datetime,
)
from echargo.ocpi.wire import DisplayTextSerializer, UrlField, many, optional

from .models import CommandResponseType, CommandResultType, CommandType


class EnergyContractSerializer(serializers.Serializer):
    supplier_name = OcpiStringField(max_length=64)
    contract_id = optional(OcpiStringField, 64)


class TokenSerializer(serializers.Serializer):
    """mod_tokens Token, complete: what StartSession and ReserveNow carry."""

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
        # OCPI booleans are JSON booleans only (DRF would take "true" or 1).
        if isinstance(data, dict) and "valid" in data and not isinstance(data["valid"], bool):
            raise serializers.ValidationError({"valid": ["Must be a JSON boolean."]})
        return super().to_internal_value(data)


def token_object(token: Token) -> dict[str, Any]:
    """One of our tokens as the Token object a StartSession / ReserveNow carries."""
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


class CancelReservationSerializer(serializers.Serializer):
    response_url = UrlField()
    reservation_id = CiStringField(max_length=36, min_length=1)


class ReserveNowSerializer(serializers.Serializer):
    response_url = UrlField()
    token = TokenSerializer()
    expiry_date = OcpiDateTimeField()
    reservation_id = CiStringField(max_length=36, min_length=1)
    location_id = CiStringField(max_length=36, min_length=1)
    evse_uid = optional(CiStringField, 36)
    authorization_reference = optional(CiStringField, 36)


class StartSessionSerializer(serializers.Serializer):
    response_url = UrlField()
    token = TokenSerializer()
    location_id = CiStringField(max_length=36, min_length=1)
    evse_uid = optional(CiStringField, 36)
    connector_id = optional(CiStringField, 36)
    authorization_reference = optional(CiStringField, 36)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("connector_id") and not attrs.get("evse_uid"):
            # OCPI 2.2.1 StartSession: evse_uid is required when connector_id is set.
            raise serializers.ValidationError({"evse_uid": ["Required with connector_id."]})
        return attrs


class StopSessionSerializer(serializers.Serializer):
    response_url = UrlField()
    session_id = CiStringField(max_length=36, min_length=1)


class UnlockConnectorSerializer(serializers.Serializer):
    response_url = UrlField()
    location_id = CiStringField(max_length=36, min_length=1)
    evse_uid = CiStringField(max_length=36, min_length=1)
    connector_id = CiStringField(max_length=36, min_length=1)


COMMAND_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    CommandType.CANCEL_RESERVATION: CancelReservationSerializer,
    CommandType.RESERVE_NOW: ReserveNowSerializer,
    CommandType.START_SESSION: StartSessionSerializer,
    CommandType.STOP_SESSION: StopSessionSerializer,
    CommandType.UNLOCK_CONNECTOR: UnlockConnectorSerializer,
}


class CommandResponseSerializer(serializers.Serializer):
    """The CPO's synchronous answer, as we (eMSP) read it."""

    result = serializers.ChoiceField(choices=CommandResponseType.choices)
    timeout = serializers.IntegerField(min_value=0, max_value=86_400)
    message = many(DisplayTextSerializer())


class CommandResultSerializer(serializers.Serializer):
    """The CPO's asynchronous result, posted to our response_url."""

    result = serializers.ChoiceField(choices=CommandResultType.choices)
    message = many(DisplayTextSerializer())


def display_text(text: str) -> list[dict[str, str]]:
    """A `message` (DisplayText *) in English, or none."""
    return [{"language": "en", "text": text[:512]}] if text else []


def first_text(messages: list[dict[str, str]] | None) -> str:
    return "; ".join(m["text"] for m in messages or [])[:512]
