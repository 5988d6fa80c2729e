"""The README's "Connecting a partner" steps, run as written on two fresh instances.

Both are separate echargo processes on loopback, set up as `bin/demo` sets one up (the base URL
recorded beside the database, not exported), and driven by management commands only.
"""

from __future__ import annotations

import re

import pytest

from tests.peer import PeerInstance

pytestmark = pytest.mark.peer


@pytest.fixture
def instances(tmp_path):
    ours = PeerInstance(tmp_path / "ours", "TR", "ECH", like_bin_demo=True)
    partner = PeerInstance(tmp_path / "partner", "NL", "PEE", like_bin_demo=True)
    (tmp_path / "ours").mkdir()
    (tmp_path / "partner").mkdir()
    ours.start()
    try:
        partner.start()
    except Exception:
        ours.stop()
        raise
    yield ours, partner
    ours.stop()
    partner.stop()


def succeeded(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_readme_connecting_steps_work_as_written(instances):
    ours, partner = instances

    # A fresh database hosts no party: the invitation names the command to run first.
    refused = ours.run("ocpi_invite", "Partner B.V.")
    assert refused.returncode != 0
    assert "manage.py ocpi_party COUNTRY_CODE PARTY_ID --name NAME" in refused.stderr

    ours.manage("ocpi_party", "TR", "ECH", "--name", "echargo Istanbul", "--roles", "CPO", "EMSP")
    partner.manage("ocpi_party", "NL", "PEE", "--name", "Partner B.V.")
    ours.manage("token_issue", "NC0001", "--contract-id", "TR-ECH-C00000001", "--issuer", "echargo")
    tap = ours.manage("token_authorize", "NC0001", "--location", "IST-TAKSIM")
    assert tap.startswith("allowed=ALLOWED source=local")

    out = ours.manage("ocpi_invite", "Partner B.V.")
    versions_url = re.search(r"versions_url: (\S+)", out).group(1)
    token_a = re.search(r"token_a: (\S+)", out).group(1)
    assert versions_url == ours.versions_url, "the URL printed is the one the server answers on"

    # A first attempt with a mistyped token fails; the retry reuses its pending connection.
    mistyped = partner.run("ocpi_connect", versions_url, token_a[:-1], "--name", "echargo Istanbul")
    assert mistyped.returncode != 0
    assert "Registration failed" in mistyped.stderr
    out = succeeded(
        partner.run("ocpi_connect", versions_url, token_a, "--name", "echargo Istanbul")
    )
    assert "Connected to echargo Istanbul" in out
    assert "parties TR*ECH (CPO), TR*ECH (EMSP)" in out

    assert "tokens:" in succeeded(partner.run("ocpi_pull", "echargo Istanbul"))
    assert "Some pulls did not complete" not in succeeded(ours.run("ocpi_pull", "Partner B.V."))
    assert "update done, status connected" in succeeded(
        ours.run("ocpi_credentials", "update", "Partner B.V.")
    )
    assert "update done, status connected" in succeeded(
        partner.run("ocpi_credentials", "update", "echargo istanbul")
    )
    assert "unregister done, status unregistered" in succeeded(
        partner.run("ocpi_credentials", "unregister", "echargo Istanbul")
    )
    gone = ours.run("ocpi_pull", "Partner B.V.")
    assert gone.returncode != 0
    assert "Partner B.V. is unregistered, not connected: no pull." in gone.stderr
    assert "Traceback" not in gone.stderr
