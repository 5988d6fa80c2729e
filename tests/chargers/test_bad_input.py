"""Bad input from chargers gets the CallError OCPP 1.6J names, is journaled, and neither the
connection nor the server goes down; a lenient charger is served despite schema violations."""

from __future__ import annotations

import asyncio
import json

import pytest

from apps.chargers.models import Charger, ChargerMessage
from apps.chargers.simulator import connected
from tests.factories.chargers import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


async def exchange(cp, frame: str) -> list:
    """Send one raw frame on the simulator's socket and read the answer the server sends."""
    reader = cp._reader
    reader.cancel()
    await cp._connection.send(frame)
    answer = json.loads(await asyncio.wait_for(cp._connection.recv(), 5))
    return answer


def run(central_system, charge_point_id, frames):
    async def scenario():
        answers = []
        async with connected(central_system.url, charge_point_id, PASSWORD, raw=True) as cp:
            for frame in frames:
                answers.append(await exchange(cp, frame))
            # Still connected and served.
            await cp._connection.send(json.dumps([2, "hb-after", "Heartbeat", {}]))
            answers.append(json.loads(await asyncio.wait_for(cp._connection.recv(), 5)))
        return answers

    return asyncio.run(scenario())


def test_malformed_frames_get_callerrors_and_the_connection_survives(central_system, charger):
    answers = run(
        central_system,
        "CP-ISTIKLAL-1",
        [
            "this is not json",
            json.dumps({"not": "an array"}),
            json.dumps([7, "m-1", "Heartbeat", {}]),
            json.dumps([2, "m-2", "Heartbeat", ["not an object"]]),
        ],
    )
    assert answers[0][:3] == [4, "-1", "FormationViolation"]
    assert answers[1][:3] == [4, "-1", "ProtocolError"]
    assert answers[2][:3] == [4, "m-1", "PropertyConstraintViolation"]
    assert answers[3][:3] == [4, "m-2", "FormationViolation"]
    assert answers[-1][0] == 3
    assert answers[-1][1] == "hb-after"
    violations = ChargerMessage.objects.filter(charger=charger, kind="violation")
    assert violations.count() == 4


def test_unknown_and_unimplemented_actions_get_notsupported_and_notimplemented(
    central_system, charger
):
    answers = run(
        central_system,
        "CP-ISTIKLAL-1",
        [
            json.dumps([2, "u-1", "FlyToTheMoon", {}]),
            json.dumps([2, "u-2", "SignCertificate", {"csr": "x"}]),
        ],
    )
    assert answers[0][:3] == [4, "u-1", "NotSupported"]
    assert answers[1][:3] in ([4, "u-2", "NotImplemented"], [4, "u-2", "NotSupported"])


def test_schema_violations_are_refused_from_a_strict_charger(central_system, charger):
    boot = {
        "chargePointVendor": "ACME",
        "chargePointModel": "X1",
        "chargePointSerialNumber": "S" * 30,
    }
    answers = run(
        central_system,
        "CP-ISTIKLAL-1",
        [
            json.dumps([2, "s-1", "BootNotification", boot]),
            json.dumps([2, "s-2", "BootNotification", {"chargePointVendor": "ACME"}]),
            json.dumps(
                [
                    2,
                    "s-3",
                    "StatusNotification",
                    {"connectorId": "one", "errorCode": "NoError", "status": "Available"},
                ]
            ),
            json.dumps([2, "s-4", "Heartbeat", {"extra": 1}]),
        ],
    )
    assert answers[0][:3] == [4, "s-1", "TypeConstraintViolation"]
    assert answers[1][:3] == [4, "s-2", "ProtocolError"]
    assert answers[2][:3] == [4, "s-3", "TypeConstraintViolation"]
    assert answers[3][:3] == [4, "s-4", "FormationViolation"]
    charger.refresh_from_db()
    assert charger.serial_number == ""
    assert ChargerMessage.objects.filter(charger=charger, kind="error_out").count() == 4


def test_a_lenient_charger_is_served_despite_violations_and_they_are_logged(
    central_system, station
):
    from tests.factories.chargers import own_charger

    lenient = own_charger(station, charge_point_id="CP-LENIENT", lenient=True)
    boot = {
        "chargePointVendor": "ACME",
        "chargePointModel": "X1",
        "chargePointSerialNumber": "S" * 30,
    }
    meter = {
        "connectorId": 1,
        "meterValue": [
            {
                "timestamp": "2026-03-02T10:00:00Z",
                "sampledValue": [{"value": "12", "measurand": "Vendor.Humidity"}],
            }
        ],
    }
    answers = run(
        central_system,
        "CP-LENIENT",
        [
            json.dumps([2, "l-1", "BootNotification", boot]),
            json.dumps([2, "l-2", "MeterValues", meter]),
        ],
    )
    assert answers[0][0] == 3
    assert answers[0][2]["status"] == "Accepted"
    assert answers[1][:2] == [3, "l-2"]
    assert Charger.objects.get(pk=lenient.pk).serial_number == "S" * 30
    notes = list(
        ChargerMessage.objects.filter(charger=lenient, kind="violation").values_list(
            "note", flat=True
        )
    )
    assert len(notes) == 2
    assert all(note.startswith("Accepted (lenient charger)") for note in notes)
