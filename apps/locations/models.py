"""Location -> EVSE -> Connector (OCPI 2.2.1 mod_locations), ours and partners' in the same tables.

Scalar OCPI fields are columns with the spec's lengths and enums; nested classes that staff do
not edit one by one (opening_times, images, energy_mix, ...) are JSON holding the OCPI shape.
CiString identifiers keep the partner's spelling for display and an upper-case `*_key` column
for lookups and uniqueness. Each Location stores its rendered OCPI document (`ocpi_json`),
refreshed by the services whenever the location or a child changes (DESIGN.md: speed by design).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from apps.partners.models import Party
from echargo.history import history_user


class ParkingType(models.TextChoices):
    ALONG_MOTORWAY = "ALONG_MOTORWAY"
    PARKING_GARAGE = "PARKING_GARAGE"
    PARKING_LOT = "PARKING_LOT"
    ON_DRIVEWAY = "ON_DRIVEWAY"
    ON_STREET = "ON_STREET"
    UNDERGROUND_GARAGE = "UNDERGROUND_GARAGE"


class Facility(models.TextChoices):
    HOTEL = "HOTEL"
    RESTAURANT = "RESTAURANT"
    CAFE = "CAFE"
    MALL = "MALL"
    SUPERMARKET = "SUPERMARKET"
    SPORT = "SPORT"
    RECREATION_AREA = "RECREATION_AREA"
    NATURE = "NATURE"
    MUSEUM = "MUSEUM"
    BIKE_SHARING = "BIKE_SHARING"
    BUS_STOP = "BUS_STOP"
    TAXI_STAND = "TAXI_STAND"
    TRAM_STOP = "TRAM_STOP"
    METRO_STATION = "METRO_STATION"
    TRAIN_STATION = "TRAIN_STATION"
    AIRPORT = "AIRPORT"
    PARKING_LOT = "PARKING_LOT"
    CARPOOL_PARKING = "CARPOOL_PARKING"
    FUEL_STATION = "FUEL_STATION"
    WIFI = "WIFI"


class Status(models.TextChoices):
    """EVSE status (OCPI 2.2.1 mod_locations Status enum)."""

    AVAILABLE = "AVAILABLE"
    BLOCKED = "BLOCKED"
    CHARGING = "CHARGING"
    INOPERATIVE = "INOPERATIVE"
    OUTOFORDER = "OUTOFORDER"
    PLANNED = "PLANNED"
    REMOVED = "REMOVED"
    RESERVED = "RESERVED"
    UNKNOWN = "UNKNOWN"


class Capability(models.TextChoices):
    CHARGING_PROFILE_CAPABLE = "CHARGING_PROFILE_CAPABLE"
    CHARGING_PREFERENCES_CAPABLE = "CHARGING_PREFERENCES_CAPABLE"
    CHIP_CARD_SUPPORT = "CHIP_CARD_SUPPORT"
    CONTACTLESS_CARD_SUPPORT = "CONTACTLESS_CARD_SUPPORT"
    CREDIT_CARD_PAYABLE = "CREDIT_CARD_PAYABLE"
    DEBIT_CARD_PAYABLE = "DEBIT_CARD_PAYABLE"
    PED_TERMINAL = "PED_TERMINAL"
    REMOTE_START_STOP_CAPABLE = "REMOTE_START_STOP_CAPABLE"
    RESERVABLE = "RESERVABLE"
    RFID_READER = "RFID_READER"
    START_SESSION_CONNECTOR_REQUIRED = "START_SESSION_CONNECTOR_REQUIRED"
    TOKEN_GROUP_CAPABLE = "TOKEN_GROUP_CAPABLE"  # noqa: S105 (an enum value, not a secret)
    UNLOCK_CAPABLE = "UNLOCK_CAPABLE"


class ParkingRestriction(models.TextChoices):
    EV_ONLY = "EV_ONLY"
    PLUGGED = "PLUGGED"
    DISABLED = "DISABLED"
    CUSTOMERS = "CUSTOMERS"
    MOTORCYCLES = "MOTORCYCLES"


class ConnectorType(models.TextChoices):
    CHADEMO = "CHADEMO"
    CHAOJI = "CHAOJI"
    DOMESTIC_A = "DOMESTIC_A"
    DOMESTIC_B = "DOMESTIC_B"
    DOMESTIC_C = "DOMESTIC_C"
    DOMESTIC_D = "DOMESTIC_D"
    DOMESTIC_E = "DOMESTIC_E"
    DOMESTIC_F = "DOMESTIC_F"
    DOMESTIC_G = "DOMESTIC_G"
    DOMESTIC_H = "DOMESTIC_H"
    DOMESTIC_I = "DOMESTIC_I"
    DOMESTIC_J = "DOMESTIC_J"
    DOMESTIC_K = "DOMESTIC_K"
    DOMESTIC_L = "DOMESTIC_L"
    DOMESTIC_M = "DOMESTIC_M"
    DOMESTIC_N = "DOMESTIC_N"
    DOMESTIC_O = "DOMESTIC_O"
    GBT_AC = "GBT_AC"
    GBT_DC = "GBT_DC"
    # OCPI 2.2.1 spells these four in mixed case; enum values are case sensitive.
    IEC_60309_2_single_16 = "IEC_60309_2_single_16"
    IEC_60309_2_three_16 = "IEC_60309_2_three_16"
    IEC_60309_2_three_32 = "IEC_60309_2_three_32"
    IEC_60309_2_three_64 = "IEC_60309_2_three_64"
    IEC_62196_T1 = "IEC_62196_T1"
    IEC_62196_T1_COMBO = "IEC_62196_T1_COMBO"
    IEC_62196_T2 = "IEC_62196_T2"
    IEC_62196_T2_COMBO = "IEC_62196_T2_COMBO"
    IEC_62196_T3A = "IEC_62196_T3A"
    IEC_62196_T3C = "IEC_62196_T3C"
    NEMA_5_20 = "NEMA_5_20"
    NEMA_6_30 = "NEMA_6_30"
    NEMA_6_50 = "NEMA_6_50"
    NEMA_10_30 = "NEMA_10_30"
    NEMA_10_50 = "NEMA_10_50"
    NEMA_14_30 = "NEMA_14_30"
    NEMA_14_50 = "NEMA_14_50"
    PANTOGRAPH_BOTTOM_UP = "PANTOGRAPH_BOTTOM_UP"
    PANTOGRAPH_TOP_DOWN = "PANTOGRAPH_TOP_DOWN"
    TESLA_R = "TESLA_R"
    TESLA_S = "TESLA_S"


class ConnectorFormat(models.TextChoices):
    SOCKET = "SOCKET"
    CABLE = "CABLE"


class PowerType(models.TextChoices):
    AC_1_PHASE = "AC_1_PHASE"
    AC_2_PHASE = "AC_2_PHASE"
    AC_2_PHASE_SPLIT = "AC_2_PHASE_SPLIT"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


class Location(models.Model):
    owner = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="locations", help_text="The CPO party."
    )
    # Copied from the owner, upper case: the OCPI key is (country_code, party_id, id).
    country_code = models.CharField(max_length=2)
    party_id = models.CharField(max_length=3)
    location_id = models.CharField("id", max_length=36, help_text="OCPI id, as the CPO spells it.")
    location_key = models.CharField(max_length=36, editable=False, help_text="id, upper case.")

    publish = models.BooleanField(default=True)
    publish_allowed_to = models.JSONField(default=list, blank=True)
    name = models.CharField(max_length=255, blank=True)
    # OCPI 2.2.1 bugfix-branch erratum: address is string(255), state string(45).
    address = models.CharField(max_length=255)
    city = models.CharField(max_length=45)
    postal_code = models.CharField(max_length=10, blank=True)
    state = models.CharField(max_length=45, blank=True)
    country = models.CharField(max_length=3, help_text="ISO 3166-1 alpha-3.")
    # GeoLocation as OCPI strings, normalised to 5-7 decimals (wire.normalise_coordinate).
    latitude = models.CharField(max_length=10)
    longitude = models.CharField(max_length=11)
    related_locations = models.JSONField(default=list, blank=True)
    parking_type = models.CharField(max_length=20, choices=ParkingType.choices, blank=True)
    directions = models.JSONField(default=list, blank=True)
    operator = models.JSONField(null=True, blank=True, help_text="BusinessDetails.")
    suboperator = models.JSONField(null=True, blank=True, help_text="BusinessDetails.")
    owner_details = models.JSONField(
        "owner", null=True, blank=True, help_text="OCPI `owner` BusinessDetails."
    )
    facilities = models.JSONField(default=list, blank=True)
    time_zone = models.CharField(max_length=255, help_text="IANA name, e.g. Europe/Istanbul.")
    opening_times = models.JSONField(null=True, blank=True, help_text="Hours.")
    charging_when_closed = models.BooleanField(null=True, blank=True)
    images = models.JSONField(default=list, blank=True)
    energy_mix = models.JSONField(null=True, blank=True)
    last_updated = models.DateTimeField()

    # Owned by one of our own CPO parties (set at creation; an owner never changes): our CPO
    # sender serves only these, from a partial index that partners' locations never enter.
    own_cpo = models.BooleanField(default=False, editable=False)
    # The eMSP parties a non-published location is shown to, resolved from publish_allowed_to.
    visible_to = models.ManyToManyField(Party, blank=True, related_name="visible_locations")
    ocpi_json = models.TextField(blank=True, editable=False, help_text="Rendered OCPI Location.")

    history = HistoricalRecords(get_user=history_user, excluded_fields=["ocpi_json"])

    class Meta:
        ordering = ["country_code", "party_id", "location_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["country_code", "party_id", "location_key"], name="location_unique_key"
            )
        ]
        indexes = [
            # List pages pick their ids on this narrow index (OCPI pagination by last_updated).
            models.Index(
                fields=["last_updated", "id"],
                include=["publish"],
                condition=models.Q(own_cpo=True),
                name="location_sender_page",
            ),
            # GET of one of our locations by id (the unique key starts with the party).
            models.Index(fields=["location_key"], name="location_key"),
            models.Index(fields=["city"], name="location_city"),
        ]

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id} {self.location_id} {self.name}".strip()

    @property
    def ocpi_path(self) -> str:
        return f"{self.country_code}/{self.party_id}/{self.location_id}"


class PublishToken(models.Model):
    """One publish_allowed_to entry of one of our unpublished locations (OCPI 2.2.1
    PublishTokenType), in lookup form: '' = not set, uid_key and group_key upper case (CiString).

    Derived from Location.publish_allowed_to by apps.locations.visibility, never edited: a
    partner token arriving finds the entries it could match by index instead of reading every
    restricted location."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="publish_tokens")
    uid_key = models.CharField(max_length=36, blank=True)
    type = models.CharField(max_length=12, blank=True)
    visual_number = models.CharField(max_length=64, blank=True)
    issuer = models.CharField(max_length=64, blank=True)
    group_key = models.CharField(max_length=36, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["uid_key"], name="publish_token_uid"),
            models.Index(fields=["group_key"], name="publish_token_group"),
            models.Index(fields=["visual_number"], name="publish_token_visual"),
        ]

    def __str__(self) -> str:
        named = ", ".join(
            f"{name}={value}"
            for name in ("uid_key", "type", "visual_number", "issuer", "group_key")
            if (value := getattr(self, name))
        )
        return f"{self.location_id}: {named}"


class EVSE(models.Model):
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="evses")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within the location.")
    uid = models.CharField(max_length=36)
    uid_key = models.CharField(max_length=36, editable=False)
    evse_id = models.CharField("EVSE ID", max_length=48, blank=True, help_text="eMI3 EVSE ID.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UNKNOWN)
    status_schedule = models.JSONField(default=list, blank=True)
    capabilities = models.JSONField(default=list, blank=True)
    floor_level = models.CharField(max_length=4, blank=True)
    latitude = models.CharField(max_length=10, blank=True)
    longitude = models.CharField(max_length=11, blank=True)
    physical_reference = models.CharField(max_length=16, blank=True)
    directions = models.JSONField(default=list, blank=True)
    parking_restrictions = models.JSONField(default=list, blank=True)
    images = models.JSONField(default=list, blank=True)
    last_updated = models.DateTimeField()

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = "EVSE"
        ordering = ["location", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["location", "uid_key"], name="evse_unique_uid")
        ]
        indexes = [models.Index(fields=["status"], name="evse_status")]

    def __str__(self) -> str:
        return self.evse_id or self.uid


class Connector(models.Model):
    evse = models.ForeignKey(EVSE, on_delete=models.CASCADE, related_name="connectors")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within the EVSE.")
    connector_id = models.CharField("id", max_length=36)
    connector_key = models.CharField(max_length=36, editable=False)
    standard = models.CharField(max_length=24, choices=ConnectorType.choices)
    format = models.CharField(max_length=6, choices=ConnectorFormat.choices)
    power_type = models.CharField(max_length=16, choices=PowerType.choices)
    max_voltage = models.PositiveIntegerField(validators=[MaxValueValidator(2_000_000)])
    max_amperage = models.PositiveIntegerField(validators=[MaxValueValidator(2_000_000)])
    max_electric_power = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0)]
    )
    # Tariff.id strings (CiString(36) each); no foreign key: tariffs may arrive later than this.
    tariff_ids = models.JSONField(default=list, blank=True)
    terms_and_conditions = models.URLField(max_length=255, blank=True)
    last_updated = models.DateTimeField()

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        ordering = ["evse", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["evse", "connector_key"], name="connector_unique_id")
        ]

    def __str__(self) -> str:
        return f"{self.connector_id} {self.standard}"
