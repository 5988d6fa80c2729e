"""The handshake: HTTP Basic per charger (OCPP security profile 1), subprotocol ocpp1.6 only,
and a second connection of a charger replaces the first."""

from __future__ import annotations

import asyncio

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from apps.chargers.models import ChargerMessage
from apps.chargers.simulator import basic_auth, connected
from tests.factories.chargers import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


async def _connect(url, charge_point_id, *, auth, subprotocols=("ocpp1.6",)):
    headers = {"Authorization": auth} if auth else {}
    return await websockets.connect(
        f"{url}/{charge_point_id}",
        subprotocols=list(subprotocols) if subprotocols else None,
        additional_headers=headers,
    )


@pytest.mark.parametrize(
    ("who", "password"),
    [("CP-ISTIKLAL-1", "not-the-password-at-all"), ("CP-NOBODY", PASSWORD), ("CP-ISTIKLAL-1", "")],
)
def test_wrong_password_or_unknown_charger_is_refused_with_401(
    central_system, charger, who, password
):
    async def attempt():
        auth = basic_auth(who, password) if password else None
        with pytest.raises(InvalidStatus) as refused:
            await _connect(central_system.url, who, auth=auth)
        return refused.value.response

    response = asyncio.run(attempt())
    assert response.status_code == 401
    assert response.headers["www-authenticate"].lower().startswith("basic")
    assert ChargerMessage.objects.filter(charge_point_id=who, kind="connection").exists()


def test_basic_user_must_be_the_charge_point_id_of_the_url(central_system, charger):
    async def attempt():
        with pytest.raises(InvalidStatus) as refused:
            await _connect(central_system.url, "CP-ISTIKLAL-1", auth=basic_auth("CP-X", PASSWORD))
        return refused.value.response.status_code

    assert asyncio.run(attempt()) == 401


@pytest.mark.parametrize("offered", [None, ("ocpp2.0.1",)])
def test_connection_without_the_ocpp16_subprotocol_is_not_served(central_system, charger, offered):
    async def attempt():
        auth = basic_auth("CP-ISTIKLAL-1", PASSWORD)
        try:
            ws = await _connect(
                central_system.url, "CP-ISTIKLAL-1", auth=auth, subprotocols=offered
            )
        except InvalidStatus as refused:  # websockets refuses what it cannot negotiate
            return refused.response.status_code
        await ws.send('[2,"x","Heartbeat",{}]')
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        return closed.value.rcvd.code

    assert asyncio.run(attempt()) in (400, 1002)
    charger.refresh_from_db()
    assert charger.last_heartbeat_at is None


def test_a_second_connection_of_the_same_charger_replaces_the_first(central_system, charger):
    async def scenario():
        async with connected(central_system.url, "CP-ISTIKLAL-1", PASSWORD) as first:
            await first.heartbeat()
            async with connected(central_system.url, "CP-ISTIKLAL-1", PASSWORD) as second:
                await asyncio.wait_for(first._connection.wait_closed(), 5)
                result = await second.heartbeat()
                return first._connection.close_code, result

    code, result = asyncio.run(scenario())
    assert code == 1000
    assert result.current_time
    charger.refresh_from_db()
    assert charger.last_heartbeat_at is not None
