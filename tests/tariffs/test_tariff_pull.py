"""Pulling a partner's tariffs from its CPO Sender (GET, paginated) stores them as its own; a
complete full pull deletes the partner tariffs it no longer lists, as the partner's DELETE would."""

from __future__ import annotations

import json

import pytest
import responses

from apps.partners import token_vault
from apps.partners.models import SyncState
from apps.partners.pull import pull_run
from apps.tariffs.models import Tariff
from echargo.ocpi.wire import ocpi_dumps, ocpi_loads
from tests.conftest import OCPI_EXAMPLES
from tests.factories.tariffs import TariffData, own_tariff, partner_tariff

pytestmark = pytest.mark.django_db

SENDER = "https://allego.example/ocpi/cpo/2.2.1/tariffs"


@pytest.fixture
def allego_sends(allego):
    allego.endpoints = [{"identifier": "tariffs", "role": "SENDER", "url": SENDER}]
    allego.outgoing_token_encrypted = token_vault.encrypt("token-allego-gave-us")
    allego.save()
    return allego


def page(data, link=None, total=None):
    # X-Total-Count is the size of the whole list, not of this page.
    headers = {"X-Total-Count": str(len(data) if total is None else total)}
    if link:
        headers["Link"] = f'<{link}>; rel="next"'
    body = {"data": data, "status_code": 1000, "timestamp": "2026-03-01T00:00:00Z"}
    return {"body": ocpi_dumps(body), "headers": headers, "content_type": "application/json"}


@responses.activate
def test_pull_stores_valid_tariffs_and_skips_invalid_or_foreign_ones(allego_sends, allego_cpo):
    complex_tariff = json.loads((OCPI_EXAMPLES / "tariff_4_complex.json").read_text())
    invalid = TariffData(country_code="DE", party_id="ALL", id="BAD", currency="euro")
    foreign = TariffData(country_code="NL", party_id="XYZ", id="NOT-THEIRS")
    second_page = f"{SENDER}?offset=2&limit=2"
    responses.get(SENDER, **page([complex_tariff, invalid], link=second_page, total=4))
    valid = TariffData(country_code="DE", party_id="ALL", id="T-OK")
    responses.get(second_page, **page([foreign, valid], total=4))

    result = pull_run(connection=allego_sends, module="tariffs")

    assert result.completed
    assert (result.pages, result.received, result.stored, result.rejected) == (2, 4, 2, 2)
    stored = {t.tariff_id: t for t in Tariff.objects.all()}
    assert set(stored) == {"14", "T-OK"}
    assert stored["14"].owner == allego_cpo
    assert (
        ocpi_loads(stored["14"].ocpi_json)["elements"]
        == ocpi_loads(json.dumps(complex_tariff))["elements"]
    )
    assert any("currency" in e for e in result.errors)
    assert any("NL" in e for e in result.errors)
    assert responses.calls[0].request.headers["Authorization"].startswith("Token ")


@responses.activate
def test_pulled_version_older_than_ours_does_not_overwrite_it(allego_sends, allego_cpo):
    partner_tariff(allego_cpo, id="T1", currency="EUR", last_updated="2026-03-02T00:00:00Z")
    older = TariffData(
        country_code="DE",
        party_id="ALL",
        id="T1",
        currency="USD",
        last_updated="2026-03-01T00:00:00Z",
    )
    responses.get(SENDER, **page([older]))

    result = pull_run(connection=allego_sends, module="tariffs")

    assert result.completed
    assert Tariff.objects.get().currency == "EUR"


@responses.activate
def test_pulled_newer_version_replaces_ours(allego_sends, allego_cpo):
    partner_tariff(allego_cpo, id="T1", currency="EUR", last_updated="2026-03-01T00:00:00Z")
    newer = TariffData(
        country_code="de",
        party_id="all",
        id="t1",
        currency="USD",
        last_updated="2026-03-02T00:00:00Z",
    )
    responses.get(SENDER, **page([newer]))

    pull_run(connection=allego_sends, module="tariffs")

    tariff = Tariff.objects.get()
    assert (tariff.currency, tariff.tariff_id) == ("USD", "t1")
    document = ocpi_loads(tariff.ocpi_json)
    assert (document["country_code"], document["party_id"]) == ("DE", "ALL")


@responses.activate
def test_second_pull_asks_only_for_changes_since_the_first(allego_sends):
    responses.get(SENDER, **page([]))
    pull_run(connection=allego_sends, module="tariffs")
    pull_run(connection=allego_sends, module="tariffs")

    assert "date_from" not in responses.calls[0].request.url
    assert "date_from=" in responses.calls[1].request.url


# --- A full pull is the partner's new truth ---------------------------------------------------


@pytest.fixture
def allego_holds_two(allego_sends, allego_cpo):
    """Allego's tariffs KEEP and GONE, as an earlier pull or push stored them."""
    partner_tariff(allego_cpo, id="KEEP")
    partner_tariff(allego_cpo, id="GONE")
    return allego_sends


def held():
    return set(Tariff.objects.values_list("tariff_id", flat=True))


@responses.activate
def test_full_pull_deletes_a_tariff_the_partner_no_longer_lists(allego_holds_two, our_cpo):
    own_tariff(our_cpo, id="OURS")
    responses.get(SENDER, **page([TariffData(country_code="DE", party_id="ALL", id="keep")]))

    result = pull_run(connection=allego_holds_two, module="tariffs", full=True)

    assert result.completed
    assert result.retired == 1
    assert held() == {"keep", "OURS"}
    deletion = Tariff.history.filter(tariff_id="GONE").first()
    assert deletion.history_type == "-"
    assert deletion.history_change_reason == "Not listed in a full pull from Allego"
    state = SyncState.objects.get(connection=allego_holds_two, module="tariffs")
    assert state.last_counts["retired"] == 1


@responses.activate
def test_incremental_tariff_pull_deletes_nothing(allego_holds_two):
    responses.get(SENDER, **page([TariffData(country_code="DE", party_id="ALL", id="KEEP")]))

    result = pull_run(connection=allego_holds_two, module="tariffs")

    assert result.retired == 0
    assert held() == {"KEEP", "GONE"}


@responses.activate
def test_broken_tariff_page_deletes_nothing(allego_holds_two):
    keep = TariffData(country_code="DE", party_id="ALL", id="KEEP")
    responses.get(SENDER, **page([keep], link=f"{SENDER}?offset=1&limit=1"))
    responses.get(f"{SENDER}?offset=1&limit=1", **page({"not": "a list"}))

    result = pull_run(connection=allego_holds_two, module="tariffs", full=True)

    assert not result.completed
    assert held() == {"KEEP", "GONE"}


@responses.activate
def test_empty_tariff_list_while_we_hold_tariffs_deletes_nothing(allego_holds_two):
    responses.get(SENDER, **page([]))

    result = pull_run(connection=allego_holds_two, module="tariffs", full=True)

    assert result.retired == 0
    assert held() == {"KEEP", "GONE"}
    assert result.errors == ["Nothing retired: the partner listed no tariffs while we hold 2."]


@responses.activate
def test_a_listed_tariff_rejected_as_invalid_is_not_deleted(allego_holds_two):
    keep = TariffData(country_code="DE", party_id="ALL", id="KEEP")
    broken = TariffData(country_code="DE", party_id="ALL", id="GONE", currency="euro")
    responses.get(SENDER, **page([keep, broken]))

    result = pull_run(connection=allego_holds_two, module="tariffs", full=True)

    assert (result.stored, result.rejected, result.retired) == (1, 1, 0)
    assert held() == {"KEEP", "GONE"}
