"""OCPI 2.2.1 enums that more than one module uses (exact spelling of the spec)."""

from __future__ import annotations

from django.db import models


class TokenType(models.TextChoices):
    """mod_tokens TokenType; also used by Locations' PublishTokenType."""

    AD_HOC_USER = "AD_HOC_USER"
    APP_USER = "APP_USER"
    OTHER = "OTHER"
    RFID = "RFID"


class EnergySourceCategory(models.TextChoices):
    """EnergyMix (mod_locations), used by Locations and Tariffs."""

    NUCLEAR = "NUCLEAR"
    GENERAL_FOSSIL = "GENERAL_FOSSIL"
    COAL = "COAL"
    GAS = "GAS"
    GENERAL_GREEN = "GENERAL_GREEN"
    SOLAR = "SOLAR"
    WIND = "WIND"
    WATER = "WATER"


class EnvironmentalImpactCategory(models.TextChoices):
    NUCLEAR_WASTE = "NUCLEAR_WASTE"
    CARBON_DIOXIDE = "CARBON_DIOXIDE"


class ImageCategory(models.TextChoices):
    """types Image (mod_locations); also in the credentials' BusinessDetails logo."""

    CHARGER = "CHARGER"
    ENTRANCE = "ENTRANCE"
    LOCATION = "LOCATION"
    NETWORK = "NETWORK"
    OPERATOR = "OPERATOR"
    OTHER = "OTHER"
    OWNER = "OWNER"
