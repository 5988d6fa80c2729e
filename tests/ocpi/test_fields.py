"""OCPI DateTime: written as UTC with Z in at most 25 characters; read leniently as UTC."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from echargo.ocpi.fields import format_ocpi_datetime, parse_ocpi_datetime


def test_datetime_is_written_in_utc_with_z_and_milliseconds():
    value = dt.datetime(2026, 2, 15, 13, 0, 0, 123456, tzinfo=ZoneInfo("Europe/Istanbul"))
    assert format_ocpi_datetime(value) == "2026-02-15T10:00:00.123Z"


def test_fractions_are_cut_to_milliseconds_never_rounded_up_a_second():
    value = dt.datetime(2026, 2, 15, 10, 0, 59, 999999, tzinfo=dt.UTC)
    assert format_ocpi_datetime(value) == "2026-02-15T10:00:59.999Z"
    value = dt.datetime(2026, 2, 15, 10, 0, 59, 999, tzinfo=dt.UTC)  # under a millisecond
    assert format_ocpi_datetime(value) == "2026-02-15T10:00:59.000Z"


def test_whole_seconds_have_no_fraction():
    assert (
        format_ocpi_datetime(dt.datetime(2026, 2, 15, 10, tzinfo=dt.UTC)) == "2026-02-15T10:00:00Z"
    )


@pytest.mark.parametrize(
    "text",
    [
        "2015-06-29T20:39:09Z",
        "2015-06-29T20:39:09",
        "2015-06-29T20:39:09+00:00",
        "2015-06-29T22:39:09+02:00",
    ],
)
def test_datetime_without_designator_or_with_offset_is_read_as_utc(text):
    assert parse_ocpi_datetime(text) == dt.datetime(2015, 6, 29, 20, 39, 9, tzinfo=dt.UTC)


@pytest.mark.parametrize("text", ["2016-12-29T17:45:09.2Z", "2016-12-29T17:45:09.2"])
def test_fractional_seconds_are_accepted(text):
    assert parse_ocpi_datetime(text).microsecond == 200000


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01T00:00:00Z", "", "1" * 40])
def test_invalid_datetimes_are_rejected(text):
    with pytest.raises(ValueError):  # noqa: PT011
        parse_ocpi_datetime(text)


def test_number_too_large_to_quantize_is_a_validation_error_not_a_crash():
    from rest_framework import serializers

    from echargo.ocpi.fields import OcpiNumberField

    class Price(serializers.Serializer):
        excl_vat = OcpiNumberField()

    from decimal import Decimal

    serializer = Price(data={"excl_vat": Decimal("1e20")})
    assert not serializer.is_valid()
    assert "excl_vat" in serializer.errors
    assert Price(data={"excl_vat": Decimal("0.083333")}).is_valid()
