"""The console's Fleet pages without a browser: operators and admins only; yesterday's figures
per site from the nightly snapshots (the occupancy report, as the API's) with names; a site's
rack heat map (one tile per rack, a band class per rental rate, planned racks marked); a rack's
servers and cards with their current leases and tenants; a card into maintenance through
card_swap (the outcome, or the refusal in words with nothing changed); the empty state's
recompute (and the broker down, in words); each page in a constant number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from analytics.models import OccupancyDaily, RecomputeRun, SiteDaily
from analytics.services import snapshots_recompute
from core.models import AuditLog
from core.queue import QUEUE_DOWN
from core.roles import Role
from leasing.models import Allocation, Lease
from leasing.services import lease_create
from marketplace.models import Card, CardModel, Rack, Site
from tests.factories import (
    CardModelFactory,
    RackFactory,
    SiteFactory,
    TenantFactory,
    UserFactory,
    make_server_with_cards,
)
from tests.outages import broker_down, take_queued
from tests.timing import at

pytestmark = pytest.mark.django_db

TODAY = "2027-03-11 09:00"  # operator time: yesterday is 2027-03-10
YESTERDAY = dt.date(2027, 3, 10)
FLEET = reverse("analytics-console:fleet")
SITES = reverse("analytics-console:sites")
RECOMPUTE = reverse("analytics-console:fleet-recompute")


def site_url(site: Site) -> str:
    return reverse("analytics-console:site", args=[site.pk])


def rack_url(rack: Rack) -> str:
    return reverse("analytics-console:rack", args=[rack.pk])


def maintenance_url(card: Card) -> str:
    return reverse("analytics-console:card-maintenance", args=[card.pk])


@pytest.fixture
def now() -> Iterator[None]:
    with at(TODAY):
        yield


@pytest.fixture
def operator_user(now: None) -> Any:
    return UserFactory(username="op.wang", role=Role.OPERATOR)


@pytest.fixture
def op(operator_user: Any) -> Client:
    """Logged in at the frozen time (a session opened earlier would have expired by then)."""
    client = Client()
    client.force_login(operator_user)
    return client


@pytest.fixture
def model(db: None) -> CardModel:
    return CardModelFactory(name="Ascend-910B", bf16_tflops=Decimal("320.00"))


@pytest.fixture
def site(db: None) -> Site:
    return SiteFactory(name="Yichang One", code="YC1", city="Yichang")


def snapshot(rack: Rack, model: CardModel, *, cards: int, leased_cards: float, busy: float = 0,
             day: dt.date = YESTERDAY) -> OccupancyDaily:  # fmt: skip
    """The nightly job's row for a rack and day: `cards` in service all day, `leased_cards`
    of them leased all day, `busy` card-hours busy."""
    return OccupancyDaily.objects.create(
        day=day, rack_id=rack.pk, site_id=rack.site_id, card_model_id=model.pk,
        cards_installed=cards, cards_in_service=cards,
        card_hours_available=Decimal(cards * 24), card_hours_leased=Decimal(leased_cards * 24),
        card_hours_busy=Decimal(busy),
    )  # fmt: skip


def site_day(site: Site, *, racked: int, planned: int, day: dt.date = YESTERDAY) -> SiteDaily:
    return SiteDaily.objects.create(
        day=day, site_id=site.pk, racks_racked=racked, racks_planned=planned
    )


@pytest.fixture
def world(site: Site, model: CardModel) -> dict[str, Any]:
    """Yichang One: rack R01 (two 8-card servers, 10 of 16 cards leased yesterday: 62.5 %),
    rack R02 (8 cards, no snapshot), rack R03 planned (4 cards)."""
    r01 = RackFactory(site=site, name="R01")
    r02 = RackFactory(site=site, name="R02")
    r03 = RackFactory(site=site, name="R03", status="planned")
    make_server_with_cards(r01, model)
    make_server_with_cards(r01, model)
    make_server_with_cards(r02, model)
    make_server_with_cards(r03, model, cards=4)
    snapshot(r01, model, cards=16, leased_cards=10, busy=120)
    site_day(site, racked=2, planned=1)
    return {"r01": r01, "r02": r02, "r03": r03}


# --- Roles ----------------------------------------------------------------------------------------


def test_operators_and_admins_only(now: None, world: dict[str, Any], model: CardModel) -> None:
    card = Card.objects.filter(server__rack=world["r01"]).first()
    assert card is not None
    pages = [FLEET, SITES, site_url(world["r01"].site), rack_url(world["r01"]),
             maintenance_url(card)]  # fmt: skip
    tenant = TenantFactory()
    for role, status in [(Role.OPERATOR, 200), (Role.ADMIN, 200), (Role.FINANCE, 403),
                         (Role.TENANT, 403)]:  # fmt: skip
        client = Client()
        extra = {"tenant": tenant} if role == Role.TENANT else {}
        client.force_login(UserFactory(role=role, **extra))
        for page in pages:
            response = client.get(page)
            assert response.status_code == status, (role, page)
            if status == 403:
                assert b"Not allowed" in response.content
    for page in pages:
        response = Client().get(page)
        assert response.status_code == 302 and "/console/login/" in response["Location"]
    # a refused maintenance changes nothing
    finance = Client()
    finance.force_login(UserFactory(role=Role.FINANCE))
    assert finance.post(maintenance_url(card), {"confirm": "on"}).status_code == 403
    card.refresh_from_db()
    assert card.status == "available"


def test_an_unknown_site_rack_or_card_is_the_404_page(op: Client) -> None:
    for page in ["sites/999999/", "racks/999999/", "cards/999999/maintenance/"]:
        response = op.get(FLEET + page)
        assert response.status_code == 404


# --- Overview and sites -----------------------------------------------------------------------


def test_the_overview_shows_yesterdays_figures_per_site_with_names(
    op: Client, world: dict[str, Any], model: CardModel
) -> None:
    SiteFactory(name="Chengdu Two", code="CD2")  # no racks, no snapshots
    response = op.get(FLEET)
    assert response.status_code == 200
    overview = response.context["overview"]
    assert overview.day == YESTERDAY and overview.has_snapshots
    by_name = {row.site.name: row for row in overview.sites}
    yichang = by_name["Yichang One"]
    # 24 installed cards in racked racks (the planned rack's 4 are not installed)
    assert (yichang.cards, yichang.pflops) == (24, Decimal("7.680"))
    assert yichang.rental_rate == Decimal("0.6250")
    assert yichang.utilisation == Decimal("0.5000")  # 120 busy of 240 leased card-hours
    assert yichang.racking_rate == Decimal("0.6667")
    assert by_name["Chengdu Two"].rental_rate is None
    text = response.content.decode()
    assert "Yichang One" in text and "Chengdu Two" in text
    assert "62.5 %" in text and "50.0 %" in text and "66.7 %" in text and "7.680" in text
    assert 'data-testid="trend-chart"' in text and 'id="fleet-trend-data"' in text
    # as of when the figures were read (now, from the primary; a replica would say its lag)
    assert f"Figures as of {TODAY[:16]}." in text
    chart = response.context["chart"]
    assert len(chart["days"]) == 90 and chart["days"][-1] == "2027-03-10"
    fleet, yichang_series = chart["series"]
    assert fleet["name"] == "Whole fleet" and fleet["rental_rate"][-1] == 62.5
    assert yichang_series["name"] == "Yichang One" and yichang_series["utilisation"][-1] == 50.0
    assert fleet["rental_rate"][0] is None  # no snapshot that day
    # every site is two clicks away: the navigation's Sites, then its name
    sites = op.get(SITES).content.decode()
    assert f'href="{site_url(world["r01"].site)}"' in sites and "Chengdu Two" in sites


def test_the_overview_is_a_constant_number_of_queries(
    op: Client, world: dict[str, Any], model: CardModel, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(12) as one:
        assert op.get(FLEET).status_code == 200
    for n in range(6):
        other = SiteFactory()
        rack = RackFactory(site=other)
        make_server_with_cards(rack, model)
        for day in range(5):
            snapshot(rack, model, cards=8, leased_cards=n, day=YESTERDAY - dt.timedelta(days=day))
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = op.get(FLEET)
    assert len(response.context["overview"].sites) == 7
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert op.get(SITES).status_code == 200


# --- The heat map ----------------------------------------------------------------------------


def test_the_heat_map_has_a_tile_per_rack_in_its_band_and_marks_planned_racks(
    op: Client, world: dict[str, Any], model: CardModel
) -> None:
    RackFactory(name="X99")  # another site's rack: not on this map
    response = op.get(site_url(world["r01"].site))
    assert response.status_code == 200
    tiles = {row["tile"].rack.name: row["tile"] for row in response.context["tiles"]}
    assert list(tiles) == ["R01", "R02", "R03"]
    assert (tiles["R01"].rental_rate, tiles["R01"].band) == (Decimal("0.6250"), 3)
    assert (tiles["R02"].rental_rate, tiles["R02"].band) == (None, None)
    assert tiles["R03"].planned and not tiles["R01"].planned
    text = response.content.decode()
    assert text.count('data-testid="rack-tile"') == 3
    assert 'class="rack-tile band-3"' in text and 'data-rack="R01"' in text
    assert 'class="rack-tile band-none planned"' in text
    assert "Planned" in text and "no data" in text and "62.5 %" in text
    assert "60–80 %" in text and "80–100 %" in text  # the legend's bands


@pytest.mark.parametrize(("leased", "band"), [(3, 0), (4, 1), (7, 2), (10, 3), (13, 4), (16, 4)])
def test_band_edges(op: Client, site: Site, model: CardModel, leased: int, band: int) -> None:
    rack = RackFactory(site=site, name="R01")
    snapshot(rack, model, cards=16, leased_cards=leased)
    [row] = op.get(site_url(site)).context["tiles"]
    assert row["tile"].band == band  # 3/16 = 18.75 % → 0–20; 4/16 = 25 % → 20–40; … 16/16 → 80–100


def test_the_heat_map_is_a_constant_number_of_queries(
    op: Client, world: dict[str, Any], site: Site, model: CardModel,
    django_assert_max_num_queries: Any,
) -> None:  # fmt: skip
    with django_assert_max_num_queries(10) as one:
        assert op.get(site_url(site)).status_code == 200
    for n in range(8):
        rack = RackFactory(site=site, name=f"R1{n}")
        make_server_with_cards(rack, model)
        snapshot(rack, model, cards=8, leased_cards=n)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = op.get(site_url(site))
    assert len(response.context["tiles"]) == 11


# --- A rack's servers and cards --------------------------------------------------------------


@pytest.fixture
def leased(world: dict[str, Any], model: CardModel) -> Lease:
    """A short lease of 2 cards from now, by Zhiyuan AI Lab (placed on R01, the only racked
    rack with enough free cards on one server)."""
    tenant = TenantFactory(name="Zhiyuan AI Lab")
    return lease_create(actor=None, tenant=tenant, kind="short", card_model=model, card_count=2)


def _held_card(lease: Lease) -> Card:
    allocation = Allocation.objects.filter(lease=lease).select_related("card__server__rack").first()
    assert allocation is not None
    return allocation.card


def test_a_rack_lists_its_servers_and_cards_with_leases_and_tenants(
    op: Client, leased: Lease
) -> None:
    card = _held_card(leased)
    rack = card.server.rack
    response = op.get(rack_url(rack), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.templates[0].name == "analytics/console/_rack.html"
    text = response.content.decode()
    assert text.count('data-testid="card-row"') == Card.objects.filter(server__rack=rack).count()
    assert card.serial in text and "Ascend-910B" in text and "Available" in text
    assert f"#{leased.pk}" in text and "Zhiyuan AI Lab" in text
    # opened directly (not by htmx): a whole page with the way back to its site
    page = op.get(rack_url(rack)).content.decode()
    assert "<html" in page and site_url(rack.site) in page


def test_a_rack_is_a_constant_number_of_queries(
    op: Client, leased: Lease, model: CardModel, django_assert_max_num_queries: Any
) -> None:
    rack = _held_card(leased).server.rack
    with django_assert_max_num_queries(10) as one:
        assert op.get(rack_url(rack)).status_code == 200
    for _ in range(3):
        make_server_with_cards(rack, model)
    lease_create(actor=None, tenant=leased.tenant, kind="short", card_model=model, card_count=12)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = op.get(rack_url(rack))
    assert sum(len(s.card_list) for s in response.context["servers"]) == 40


# --- Maintenance ---------------------------------------------------------------------------------


def test_a_card_goes_into_maintenance_and_its_lease_moves(
    op: Client, leased: Lease, operator_user: Any
) -> None:
    card = _held_card(leased)
    form = op.get(maintenance_url(card), HTTP_HX_REQUEST="true")
    assert form.status_code == 200
    assert 'data-testid="maintenance-form"' in form.content.decode()
    assert 'for="id_reason"' in form.content.decode()
    response = op.post(
        maintenance_url(card), {"reason": "ECC errors", "confirm": "on"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    card.refresh_from_db()
    assert card.status == "maintenance"
    [swap] = response.context["swaps"]
    assert swap.lease == leased and swap.card_in.pk != card.pk
    text = response.content.decode()
    assert f"Card {card.serial} is in maintenance." in text
    assert (
        f"Lease #{leased.pk} (Zhiyuan AI Lab) moved to card {swap.card_in.serial} "
        f"(server {swap.card_in.server.name})." in text
    )
    assert Allocation.objects.filter(lease=leased, card=swap.card_in).exists()
    audit = AuditLog.objects.get(action="card.maintenance")
    assert (audit.actor_id, audit.reason) == (operator_user.pk, "ECC errors")


def test_without_confirmation_nothing_changes(op: Client, leased: Lease) -> None:
    card = _held_card(leased)
    response = op.post(maintenance_url(card), {"reason": "fan"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Tick the box to confirm." in response.content.decode()
    card.refresh_from_db()
    assert card.status == "available"


def test_without_a_spare_card_the_refusal_is_shown_in_words(
    op: Client, world: dict[str, Any], model: CardModel
) -> None:
    tenant = TenantFactory(name="Zhiyuan AI Lab")
    lease = lease_create(actor=None, tenant=tenant, kind="short", card_model=model, card_count=24)
    card = _held_card(lease)
    response = op.post(maintenance_url(card), {"confirm": "on"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps it in: the refusal is the answer
    text = response.content.decode()
    assert (
        f"Card {card.serial} was not put into maintenance: No free Huawei Ascend-910B card "
        f"can replace card {card.pk} for lease {lease.pk}; nothing was changed."
        in " ".join(text.split())
    )
    card.refresh_from_db()
    assert card.status == "available"
    assert Allocation.objects.filter(lease=lease).count() == 24


# --- The empty state and its recompute -------------------------------------------------------


def test_without_snapshots_the_overview_says_what_to_do(
    op: Client, site: Site, model: CardModel
) -> None:
    RackFactory(site=site)
    response = op.get(FLEET)
    assert response.status_code == 200
    assert not response.context["overview"].has_snapshots
    text = response.content.decode()
    assert "No occupancy yet: the nightly job runs at 01:00 (operator time)." in text
    assert 'data-testid="run-now"' in text and 'data-testid="trend-chart"' not in text
    assert "Yichang One" in text  # the sites stay reachable


def test_run_it_now_queues_the_recompute_of_the_trends_days(
    op: Client, operator_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    take_queued("analytics.recompute_run")
    with django_capture_on_commit_callbacks(execute=True):
        response = op.post(RECOMPUTE, follow=True)
    assert response.status_code == 200
    run = RecomputeRun.objects.get()
    assert (run.day_from, run.day_to, run.status) == (
        YESTERDAY - dt.timedelta(days=89),
        YESTERDAY,
        "running",
    )
    assert take_queued("analytics.recompute_run") == [f"({run.pk},)"]
    assert AuditLog.objects.get(action="snapshots.recompute_start").actor_id == operator_user.pk
    assert "is running" in response.content.decode()


def test_with_the_broker_down_run_it_now_says_so_and_records_nothing(op: Client) -> None:
    with broker_down():
        response = op.post(RECOMPUTE)
    assert response.status_code == 503
    assert QUEUE_DOWN in response.content.decode()
    assert not RecomputeRun.objects.exists()


def test_the_figures_come_from_the_nightly_job(
    op: Client, world: dict[str, Any], model: CardModel
) -> None:
    """The rows the recompute writes, not hand-made ones: a long lease of one server's 8 cards
    all yesterday."""
    OccupancyDaily.objects.all().delete()
    SiteDaily.objects.all().delete()
    with at("2027-03-09 12:00"):
        lease = lease_create(actor=None, tenant=TenantFactory(), kind="long", card_model=model,
                             card_count=8, start=YESTERDAY, term_months=12)  # fmt: skip
    snapshots_recompute(day_from=YESTERDAY, day_to=YESTERDAY)
    response = op.get(site_url(world["r01"].site))
    tiles = {row["tile"].rack.name: row["tile"] for row in response.context["tiles"]}
    held = _held_card(lease).server.rack.name
    other = ({"R01", "R02"} - {held}).pop()
    expected = {"R01": (Decimal("0.5000"), 2), "R02": (Decimal("1.0000"), 4)}  # 8 of 16, 8 of 8
    assert (tiles[held].rental_rate, tiles[held].band) == expected[held]
    assert (tiles[other].rental_rate, tiles[other].band) == (Decimal("0.0000"), 0)
    assert tiles["R03"].rental_rate is None  # planned: not in the snapshots
