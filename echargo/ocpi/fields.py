"""OCPI scalar types as DRF fields: DateTime, CiString, string(n), number."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

# OCPI 2.2.1 types: printable ASCII for CiString, printable UTF-8 (no control chars) for string.
_CISTRING = re.compile(r"^[\x20-\x7e]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def format_ocpi_datetime(value: dt.datetime) -> str:
    """Render an aware datetime as OCPI DateTime: UTC, 'Z', at most milliseconds (<= 25 chars)."""
    value = value.astimezone(dt.UTC)
    # OCPI 2.2.1 types: "+00:00 is not the same as UTC"; always emit Z, never an offset.
    # (isoformat: a third of strftime's cost, and it runs for every timestamp on the wire.)
    if value.microsecond:
        return value.isoformat(timespec="milliseconds")[:23] + "Z"
    return value.isoformat(timespec="seconds")[:19] + "Z"


def parse_ocpi_datetime(text: str) -> dt.datetime:
    """Parse an OCPI DateTime leniently (Z, +00:00 or no designator = UTC; 0-6 fraction digits)."""
    if not isinstance(text, str) or len(text) > 35:
        raise ValueError("not a DateTime")
    value = dt.datetime.fromisoformat(text.replace("z", "Z"))
    if timezone.is_naive(value):
        # OCPI 2.2.1 types: a timestamp without designator is UTC.
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


class OcpiDateTimeField(serializers.Field):
    """DateTime as OCPI 2.2.1 types it: reads any RFC 3339 shape, writes UTC with 'Z'."""

    default_error_messages = {"invalid": "Invalid DateTime, expected e.g. 2026-02-15T10:00:00Z."}

    def to_internal_value(self, data: Any) -> dt.datetime:
        try:
            return parse_ocpi_datetime(data)
        except (TypeError, ValueError):
            self.fail("invalid")

    def to_representation(self, value: dt.datetime) -> str:
        return format_ocpi_datetime(value)


class LastUpdatedField(OcpiDateTimeField):
    """The `last_updated` of an object a partner sends: an OCPI DateTime, not in the future.

    Every receiver keeps the newest version and drops older ones (echargo/ocpi/receiver.py), so
    a last_updated of 9999-12-31 would freeze the object: every later real update would look
    older. A partner's clock may run a little ahead of ours; beyond OCPI_MAX_CLOCK_SKEW_SECONDS
    the version is refused (2001).
    """

    default_error_messages = {
        "future": "last_updated lies in the future ({value}); beyond the tolerated clock skew of "
        "{skew} s.",
    }

    def to_internal_value(self, data: Any) -> dt.datetime:
        value = super().to_internal_value(data)
        skew = settings.OCPI_MAX_CLOCK_SKEW_SECONDS
        if value > timezone.now() + dt.timedelta(seconds=skew):
            self.fail("future", value=format_ocpi_datetime(value), skew=skew)
        return value


class CiStringField(serializers.CharField):
    """CiString(n): printable ASCII, compared case-insensitively (callers normalise for lookups)."""

    default_error_messages = {"ascii": "Only printable ASCII characters are allowed."}

    def __init__(self, max_length: int, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        if max_length is not None:
            kwargs["max_length"] = max_length
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not _CISTRING.match(value):
            self.fail("ascii")
        return value


class OcpiStringField(serializers.CharField):
    """string(n): printable UTF-8, no control characters."""

    default_error_messages = {"control": "Control characters are not allowed."}

    def __init__(self, max_length: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        if max_length is not None:
            kwargs["max_length"] = max_length
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if _CONTROL.search(value):
            self.fail("control")
        return value


class OcpiNumberField(serializers.DecimalField):
    """OCPI number: Decimal inside, JSON number on the wire, 4 decimals unless stated otherwise."""

    def __init__(self, *, max_digits: int = 16, decimal_places: int = 4, **kwargs: Any) -> None:
        kwargs.setdefault("coerce_to_string", False)
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)

    def validate_precision(self, value: Decimal) -> Decimal:
        # Partners send more decimals than 4 (e.g. 0.08333 h); keep the value, round to our scale.
        try:
            return super().validate_precision(self.quantize(value))
        except InvalidOperation:
            # Too many digits to quantize (e.g. 1e20): a client error, not a crash.
            self.fail("max_digits", max_digits=self.max_digits)
