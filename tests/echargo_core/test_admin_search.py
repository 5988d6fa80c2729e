"""Admin search folds Turkish İ/ı/I/i and accents both ways, on PostgreSQL and on SQLite alike
(echargo/web/search.py): staff type "istanbul" as often as "İstanbul"."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from apps.chargers.models import Charger
from apps.tokens.models import Token
from echargo.web.search import fold_text
from tests.factories.chargers import own_charger
from tests.factories.locations import own_location
from tests.factories.partners import PartnerConnectionFactory, PartyFactory
from tests.factories.tariffs import own_tariff
from tests.factories.tokens import TokenFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("ayse", "ayse@echargo.example", "pw")
    client.force_login(user)
    return client


def found(staff, path: str, term: str) -> list:
    response = staff.get(path, {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("istanbul", "İstanbul"),
        ("İSTANBUL", "istanbul"),
        ("ISPARTA", "ısparta"),
        ("ıgdır", "Iğdır"),
        ("sisli", "Şişli"),
        ("ŞİŞLİ", "sisli"),
        ("uskudar", "Üsküdar"),
        ("cekmekoy", "Çekmeköy"),
        ("café", "CAFE"),
    ],
)
def test_fold_text_treats_what_staff_type_as_the_same(typed, stored):
    assert fold_text(typed) == fold_text(stored)


def test_fold_text_keeps_different_words_apart():
    assert fold_text("Şile") != fold_text("Sale")


@pytest.mark.parametrize("term", ["istanbul", "İSTANBUL", "ISTANBUL", "İstanbul", "kadikoy"])
def test_location_search_finds_turkish_city_however_typed(staff, our_parties, term):
    cpo = next(party for party in our_parties if party.role == "CPO")
    kadikoy = own_location(cpo, name="Kadıköy İskele", city="İstanbul")
    own_location(cpo, name="Kızılay", city="Ankara")
    # "kadikoy" is the name, the others the city: every word may match any field.
    assert found(staff, "/admin/locations/location/", term) == [kadikoy]


def test_location_search_folds_in_both_directions(staff, our_parties):
    cpo = next(party for party in our_parties if party.role == "CPO")
    plain = own_location(cpo, name="Sisli Meydan", city="Istanbul")
    assert found(staff, "/admin/locations/location/", "Şişli İstanbul") == [plain]
    assert found(staff, "/admin/locations/location/", "Şile") == []


def test_evse_search_reaches_the_location_name(staff, our_parties):
    cpo = next(party for party in our_parties if party.role == "CPO")
    location = own_location(cpo, name="Üsküdar Sahil")
    evses = found(staff, "/admin/locations/evse/", "uskudar")
    assert [evse.location_id for evse in evses] == [location.pk]


def test_token_search_is_case_and_dot_blind(staff, our_parties):
    emsp = next(party for party in our_parties if party.role == "EMSP")
    token = TokenFactory(
        owner=emsp, country_code="TR", party_id="ECH", uid="ABCI0001", visual_number="Işık 12"
    )
    TokenFactory(owner=emsp, country_code="TR", party_id="ECH", uid="ZZZ0002")
    assert found(staff, "/admin/tokens/token/", "abci0001") == [token]
    assert found(staff, "/admin/tokens/token/", "isik") == [token]
    assert Token.objects.count() == 2


def test_party_and_connection_search(staff, our_parties):
    connection = PartnerConnectionFactory(name="Şarj İzmir")
    party = PartyFactory(
        country_code="TR", party_id="SIZ", role="CPO", connection=connection, name="Şarj İzmir"
    )
    assert found(staff, "/admin/partners/party/", "sarj izmir") == [party]
    assert found(staff, "/admin/partners/partnerconnection/", "IZMIR") == [connection]
    # A word matching through a to-many field (parties__party_id) lists the connection once.
    PartyFactory(country_code="TR", party_id="SIY", role="EMSP", connection=connection)
    assert found(staff, "/admin/partners/partnerconnection/", "si") == [connection]


def test_tariff_search_by_owner_name(staff, our_parties):
    cpo = next(party for party in our_parties if party.role == "CPO")
    tariff = own_tariff(cpo)
    cpo.name = "Çağrı Enerji"
    cpo.save()
    assert found(staff, "/admin/tariffs/tariff/", "cagri") == [tariff]
    assert found(staff, "/admin/tariffs/tariff/", "ÇAĞRI ENERJİ") == [tariff]


def test_charger_search_by_vendor(staff, our_parties):
    cpo = next(party for party in our_parties if party.role == "CPO")
    charger = own_charger(own_location(cpo))
    Charger.objects.filter(pk=charger.pk).update(vendor="Gürsan Elektrik")
    assert found(staff, "/admin/chargers/charger/", "gursan") == [charger]
    assert found(staff, "/admin/chargers/charger/", "GÜRSAN") == [charger]
    assert found(staff, "/admin/chargers/charger/", "gürsen") == []
