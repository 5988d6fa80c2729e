"""Whatever JSON a partner sends to our Locations Receiver, it gets an OCPI answer, never a 500,
and a rejected write leaves the stored location as it was."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.locations.models import Location
from tests.factories.locations import ConnectorData, EVSEData, LocationData

pytestmark = pytest.mark.django_db

URL = "/ocpi/emsp/2.2.1/locations/DE/HBA/FUZZ"
# Newer than the factories' last_updated, and not in the future (that would be refused).
NEWER = "2026-06-01T00:00:00Z"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
PATHS = [
    *[(key,) for key in LocationData()],
    *[("evses", 0, key) for key in EVSEData()],
    *[("evses", 0, "connectors", 0, key) for key in ConnectorData()],
]


def fuzz_location(path, value):
    body = LocationData(country_code="DE", party_id="HBA", id="FUZZ")
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


def stored():
    location = Location.objects.filter(location_key="FUZZ").first()
    return location.ocpi_json if location else None


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(path=st.sampled_from(PATHS), value=json_values, depth=st.integers(0, 2))
def test_any_json_in_any_field_gets_an_ocpi_answer_never_a_500(api, hub, path, value, depth):
    client = api.as_token("hub-token")
    before = stored()
    response = client.put(URL, fuzz_location(path, value), format="json")
    assert response.status_code in (200, 201)
    assert response.json()["status_code"] in (1000, 2001)
    if response.json()["status_code"] == 2001:
        assert stored() == before

    base = LocationData(country_code="DE", party_id="HBA", id="FUZZ", evses=[EVSEData(uid="E1")])
    client.put(URL, {**base, "last_updated": NEWER}, format="json")
    before = stored()
    patch = {"last_updated": NEWER, path[-1]: value}
    response = client.patch(URL + ["", "/E1", "/E1/1"][depth], patch, format="json")
    assert response.status_code == 200
    assert response.json()["status_code"] in (1000, 2001)
    if response.json()["status_code"] == 2001:
        assert stored() == before
