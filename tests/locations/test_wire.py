"""The OCPI 2.2.1 Location schema: lengths, cardinalities, enums, and lenient coordinates."""

from __future__ import annotations

import json

import pytest
from rest_framework.exceptions import ValidationError

from apps.locations.wire import (
    ConnectorIn,
    EVSEIn,
    HoursSerializer,
    LocationIn,
    PublishTokenTypeSerializer,
    normalise_coordinate,
)
from echargo.ocpi.wire import validated
from tests.factories.locations import ConnectorData, EVSEData, LocationData


@pytest.mark.parametrize(
    ("raw", "limit", "expected"),
    [
        ("51.047599", 90, "51.047599"),
        ("51.0475", 90, "51.04750"),
        (51.04759912345, 90, "51.0475991"),
        ("4,8986", 180, "4.89860"),
        (-3, 180, "-3.00000"),
        (" 13.008307 ", 180, "13.008307"),
        ("-0.000000001", 90, "0.0000000"),
        ("179.999999", 180, "179.999999"),
    ],
)
def test_coordinates_are_normalised_to_the_spec_form(raw, limit, expected):
    assert normalise_coordinate(raw, limit) == expected


@pytest.mark.parametrize(
    ("raw", "limit"),
    [("90.1", 90), ("181", 180), ("north", 90), (True, 90), (None, 90), ("1e5", 90)],
)
def test_coordinates_out_of_range_or_not_numbers_are_refused(raw, limit):
    with pytest.raises(ValueError, match=r"invalid|range"):
        normalise_coordinate(raw, limit)


def test_enum_values_are_case_sensitive_including_the_mixed_case_iec_60309():
    assert validated(ConnectorIn, ConnectorData(standard="IEC_60309_2_single_16"))
    with pytest.raises(ValidationError):
        validated(ConnectorIn, ConnectorData(standard="IEC_60309_2_SINGLE_16"))
    with pytest.raises(ValidationError):
        validated(EVSEIn, EVSEData(status="Available"))


def test_identifier_lengths_follow_the_spec():
    assert validated(LocationIn, LocationData(id="x" * 36))
    for data in (
        LocationData(id="x" * 37),
        LocationData(party_id="ECHO"),
        LocationData(country_code="T"),
        LocationData(city="c" * 46),
        LocationData(postal_code="1" * 11),
        LocationData(evses=[EVSEData(evse_id="E" * 49)]),
        LocationData(evses=[EVSEData(physical_reference="p" * 17)]),
        LocationData(evses=[EVSEData(floor_level="12345")]),
    ):
        with pytest.raises(ValidationError):
            validated(LocationIn, data)


def test_an_evse_needs_at_least_one_connector_and_unique_connector_ids():
    with pytest.raises(ValidationError, match="connectors"):
        validated(EVSEIn, EVSEData(connectors=[]))
    with pytest.raises(ValidationError, match="unique"):
        validated(EVSEIn, EVSEData(connectors=[ConnectorData(id="1"), ConnectorData(id="1")]))


def test_evse_uids_are_unique_within_a_location_case_insensitively():
    with pytest.raises(ValidationError, match="unique"):
        validated(LocationIn, LocationData(evses=[EVSEData(uid="a"), EVSEData(uid="A")]))


@pytest.mark.parametrize(
    ("entry", "valid"),
    [
        ({"uid": "123", "type": "RFID"}, True),
        ({"visual_number": "12-3", "issuer": "NewMotion"}, True),
        ({"group_id": "G1"}, True),
        ({"uid": "123"}, False),
        ({"visual_number": "12-3"}, False),
        ({"issuer": "NewMotion"}, False),
        ({"uid": "123", "type": "PAPER"}, False),
    ],
)
def test_publish_token_type_rules(entry, valid):
    serializer = PublishTokenTypeSerializer(data=entry)
    assert serializer.is_valid() is valid


@pytest.mark.parametrize(
    ("hours", "valid"),
    [
        ({"twentyfourseven": True}, True),
        ({"twentyfourseven": False}, False),
        (
            {
                "twentyfourseven": True,
                "regular_hours": [{"weekday": 1, "period_begin": "08:00", "period_end": "20:00"}],
            },
            False,
        ),
        (
            {
                "twentyfourseven": False,
                "regular_hours": [{"weekday": 8, "period_begin": "08:00", "period_end": "20:00"}],
            },
            False,
        ),
        (
            {
                "twentyfourseven": False,
                "regular_hours": [{"weekday": 1, "period_begin": "20:00", "period_end": "08:00"}],
            },
            False,
        ),
        (
            {
                "twentyfourseven": False,
                "regular_hours": [{"weekday": 1, "period_begin": "24:00", "period_end": "24:30"}],
            },
            False,
        ),
    ],
)
def test_opening_hours_rules(hours, valid):
    assert HoursSerializer(data=hours).is_valid() is valid


@pytest.mark.django_db
def test_optional_empty_strings_are_accepted_and_left_out_of_our_document(cpo):
    from tests.factories.locations import own_location

    document = json.loads(own_location(cpo, postal_code="", name="").ocpi_json)
    assert "postal_code" not in document
    assert "name" not in document
