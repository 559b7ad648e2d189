"""Spend limits (billing.services.spend), golden by hand.

A budget of ¥100 (warnings at 50 % and 80 %, action stop) and one short lease of 1 card at
¥12.50/h from 2027-03-10 08:00: ¥50 at 12:00, ¥80 at 14:24, ¥100 at 16:00. Evaluations at
several minutes warn once per threshold; the first evaluation at or after ¥100 (16:00:30,
metered to 16:01: 481 whole minutes, ¥100.21) stops the lease, billed to that minute.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Tenant
from billing.models import Budget, BudgetNotice, UsageRecord
from billing.services.metering import lease_meter_at_stop
from billing.services.spend import spend_evaluate, spend_rows
from core.exceptions import Conflict
from events.models import Event
from leasing.models import Lease
from leasing.services import lease_create
from tests.factories import CardModelFactory, RackFactory, TenantFactory, make_server_with_cards
from tests.timing import at

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def model(db):
    model = CardModelFactory(
        name="Ascend-910B", domestic=True, hourly_rate=D("12.5000"), monthly_rate=D("3900.0000")
    )
    make_server_with_cards(RackFactory(), model)
    return model


def short(tenant: Tenant, model) -> Lease:
    return lease_create(actor=None, tenant=tenant, kind="short", card_model=model, card_count=1)


def events(kind: str) -> list[dict]:
    return [e.data for e in Event.objects.filter(type=kind).order_by("created", "id")]


def test_warnings_once_each_then_the_stop_billed_to_that_minute(tenant_client, tenant, model):
    with at("2027-03-10 07:00"):
        put = tenant_client.put(
            "/api/v1/me/budget/", {"monthly_limit": "100.00", "action": "stop"}, format="json"
        )
    assert put.status_code == 200, put.json()
    assert put.json()["warn_at"] == ["0.5000", "0.8000"]
    with at("2027-03-10 08:00"):
        lease = short(tenant, model)
    with at("2027-03-10 11:59:30"):  # 240 minutes: ¥50.00, reached at the minute's end
        spend_evaluate()
        shown = tenant_client.get("/api/v1/me/budget/").json()
    assert (shown["spend"], shown["burn"], shown["remaining"]) == ("50.00", "12.50", "50.00")
    assert shown["runway_hours"] == "4.00"
    # month end 2027-04-01 00:00: 21 days 12 h 0.5 min more at ¥12.50/h = ¥6,450.10 more
    assert shown["projected"] == "6500.10"
    assert [e["threshold"] for e in events("spend_limit.warning")] == ["0.5000"]
    for minute in ("12:00", "13:00", "14:23"):
        with at(f"2027-03-10 {minute}"):
            spend_evaluate()
    assert len(events("spend_limit.warning")) == 1
    with at("2027-03-10 14:24"):  # 384 minutes: ¥80.00
        spend_evaluate()
    with at("2027-03-10 15:59"):  # ¥99.79: not yet
        spend_evaluate()
    warnings = events("spend_limit.warning")
    assert [(w["threshold"], w["spend"]) for w in warnings] == [
        ("0.5000", "50.00"),
        ("0.8000", "80.00"),
    ]
    assert not events("spend_limit.reached")
    assert Lease.objects.get(pk=lease.pk).status == "active"
    with at("2027-03-10 16:00:30"):  # metered to 16:01: 481 minutes, ¥100.21
        result = spend_evaluate()
    assert result.stopped == [lease.pk]
    lease.refresh_from_db()
    assert lease.status == "ended" and lease.end.isoformat() == "2027-03-10T08:00:30+00:00"
    assert lease.events.order_by("id").last().reason == "spend_limit"
    [reached] = events("spend_limit.reached")
    assert (reached["spend"], reached["monthly_limit"], reached["action"]) == (
        "100.21",
        "100.00",
        "stop",
    )
    with at("2027-03-10 16:05"):
        lease_meter_at_stop(lease.pk)
        spend_evaluate()  # nothing new: once a month
    minutes = sum(r.quantity for r in UsageRecord.objects.filter(lease=lease))
    assert minutes == 481  # billed to the stop minute
    assert len(events("spend_limit.reached")) == 1 and len(events("spend_limit.warning")) == 2

    # a new short lease is refused, nothing written
    leases = Lease.objects.count()
    with at("2027-03-10 17:00"):
        refused = tenant_client.post(
            "/api/v1/leases/",
            {"kind": "short", "card_model": model.pk, "card_count": 1},
            format="json",
        )
    assert refused.status_code == 409, refused.json()
    assert refused.json()["error"]["code"] == "spend_limit_reached"
    assert Lease.objects.count() == leases
    # raised: allowed again
    with at("2027-03-10 17:01"):
        raised = tenant_client.patch(
            "/api/v1/me/budget/", {"monthly_limit": "200.00"}, format="json"
        )
        assert raised.status_code == 200, raised.json()
        assert raised.json()["spend"] == "100.21" and raised.json()["reached"] is False
        allowed = tenant_client.post(
            "/api/v1/leases/",
            {"kind": "short", "card_model": model.pk, "card_count": 1},
            format="json",
        )
    assert allowed.status_code == 201, allowed.json()


def test_a_long_lease_over_the_limit_is_refused(tenant_client, tenant, model):
    Budget.objects.create(tenant=tenant, monthly_limit=D("1000.00"), action="stop")
    with at("2027-03-10 07:00"):
        refused = tenant_client.post(
            "/api/v1/leases/",
            {"kind": "long", "card_model": model.pk, "card_count": 1, "term_months": 12},
            format="json",
        )
    assert refused.status_code == 409, refused.json()
    assert refused.json()["error"]["code"] == "spend_limit_reached"
    assert not Lease.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"monthly_limit": "-1.00"},
        {"monthly_limit": "0"},
        {"monthly_limit": "100.00", "warn_at": ["0"]},
        {"monthly_limit": "100.00", "warn_at": ["1.5"]},
        {"monthly_limit": "100.00", "warn_at": ["0.5", "0.5"]},
        {"monthly_limit": "100.00", "action": "explode"},
        {"warn_at": ["0.5"]},
    ],
)
def test_bad_input_is_refused_with_the_error_body(tenant_client, body):
    answer = tenant_client.put("/api/v1/me/budget/", body, format="json")
    assert answer.status_code == 400, answer.json()
    assert answer.json()["error"]["fields"]
    assert not Budget.objects.exists()


def test_no_budget_is_404_and_another_tenant_cannot_reach_it(
    tenant_client, make_client, make_user, tenant, finance_client
):
    assert tenant_client.get("/api/v1/me/budget/").json()["error"]["code"] == "no_budget"
    other = TenantFactory()
    Budget.objects.create(tenant=other, monthly_limit=D("10.00"), action="notify")
    assert tenant_client.get(f"/api/v1/tenants/{other.pk}/budget/").status_code == 403
    assert (
        tenant_client.put(
            f"/api/v1/tenants/{other.pk}/budget/", {"monthly_limit": "5.00"}, format="json"
        ).status_code
        == 403
    )
    assert Budget.objects.get(tenant=other).monthly_limit == D("10.00")
    assert finance_client.get(f"/api/v1/tenants/{other.pk}/budget/").json()["monthly_limit"] == (
        "10.00"
    )


def _pass_queries() -> int:
    with CaptureQueriesContext(connection) as queries:
        spend_evaluate()
    return len(queries)


def test_the_pass_is_set_based(model):
    def budgeted(n: int) -> None:
        for _ in range(n):
            tenant = TenantFactory()
            Budget.objects.create(tenant=tenant, monthly_limit=D("1000.00"), action="notify")
            short(tenant, model)

    with at("2027-03-10 08:00"):
        budgeted(1)
    with at("2027-03-10 09:00"):
        one = _pass_queries()
    with at("2027-03-10 08:00"):
        budgeted(3)
    with at("2027-03-10 10:00"):
        four = _pass_queries()
    assert four == one
    assert len(spend_rows()) == 4 and BudgetNotice.objects.count() == 0


def test_notify_never_stops_and_a_new_month_starts_afresh(tenant_client, tenant, model):
    Budget.objects.create(tenant=tenant, monthly_limit=D("10.00"), action="notify")
    with at("2027-03-31 22:00"):
        lease = short(tenant, model)
    with at("2027-03-31 23:00"):  # ¥12.50: over the limit, but notify only
        first = spend_evaluate()
    assert first.stopped == [] and first.notices == 3  # 50 %, 80 % and reached
    assert Lease.objects.get(pk=lease.pk).status == "active"
    with at("2027-04-01 00:30"):  # April: ¥6.25 so far, the 50 % warning again
        second = spend_evaluate()
    assert second.notices == 1
    assert [(n.month.isoformat(), n.kind, n.threshold) for n in BudgetNotice.objects.all()][-1] == (
        "2027-04-01",
        "warning",
        D("0.5000"),
    )


def test_beat_evaluates_every_minute():
    from config.celery import app

    entry = app.conf.beat_schedule["evaluate-spend-limits"]
    assert (entry["task"], entry["schedule"]) == ("billing.evaluate_spend", 60.0)


def test_spend_is_what_the_invoice_would_charge_before_tax_stored_or_not(tenant, model):
    """Short leases' minutes are read from their allocations by the meter's rule (not from the
    ledger): the figure must be the invoice preview's subtotal whatever the meter has stored
    yet. A lease running since last month, one stopped mid-month, a card swapped mid-lease."""
    from billing.services.invoicing import invoice_preview
    from billing.services.metering import short_leases_meter
    from leasing.services import card_swap, lease_stop
    from marketplace.models import Card

    Budget.objects.create(tenant=tenant, monthly_limit=D("100000"), action="notify")
    with at("2027-02-27 22:00:00"):
        running = lease_create(
            actor=None, tenant=tenant, kind="short", card_model=model, card_count=2
        )
    with at("2027-03-02 09:00:30"):
        stopped = short(tenant, model)
    with at("2027-03-03 10:15:20"):
        lease_stop(actor=None, lease=stopped)
    with at("2027-03-05 12:00:10"):
        card_swap(actor=None, card=Card.objects.filter(allocations__lease=running).first())

    def both(when: str) -> tuple[Decimal, Decimal]:
        with at(when):
            [row] = spend_rows(tenant_id=tenant.pk)
            return row.spend, invoice_preview(tenant=tenant).subtotal

    for when in ("2027-03-01 00:00:01", "2027-03-04 05:00:00", "2027-03-06 17:33:40"):
        spend, subtotal = both(when)
        assert spend == subtotal and spend > 0, when
    with at("2027-03-06 18:02:00"):
        assert short_leases_meter() > 0  # the hourly meter stores the days behind
    spend, subtotal = both("2027-03-06 18:59:59")
    assert spend == subtotal
    # by hand: 2 cards from Mar 1 00:00 to 18:59:59 → 19:00 on Mar 6 (the swap changes cards at
    # 12:01, not minutes): 2 × 8,340 min = ¥3,475.00; 1 card 09:00:30 → 09:00 on Mar 2 to
    # 10:15:20 → 10:16 on Mar 3: 1,516 min = ¥315.83 (each lease's line rounded)
    assert spend == D("3475.00") + D("315.83")


def test_a_changed_limit_notifies_against_the_new_limit(tenant_client, tenant, model):
    """Notices are per limit: once the limit is raised, the new limit's thresholds warn (once
    each, those already passed at the next evaluation) and reaching it notifies again; the
    old limit's notices are not repeated."""
    Budget.objects.create(tenant=tenant, monthly_limit=D("100.00"), action="stop")
    with at("2027-03-10 08:00"):
        first = short(tenant, model)
    with at("2027-03-10 16:00:30"):  # ¥100.21: warnings of ¥100, reached, stopped
        assert spend_evaluate().stopped == [first.pk]
    with at("2027-03-10 17:00"):
        raised = tenant_client.patch(
            "/api/v1/me/budget/", {"monthly_limit": "200.00"}, format="json"
        )
        assert raised.status_code == 200, raised.json()
        second = short(tenant, model)
    with at("2027-03-10 17:01"):  # ¥100.42 of ¥200: past its 50 %
        spend_evaluate()
        spend_evaluate()
    with at("2027-03-11 01:00"):  # ¥200.21: 80 % and the new limit reached, stopped
        assert spend_evaluate().stopped == [second.pk]
        spend_evaluate()
    warnings = events("spend_limit.warning")
    assert sorted((w["monthly_limit"], w["threshold"]) for w in warnings) == [
        ("100.00", "0.5000"),
        ("100.00", "0.8000"),
        ("200.00", "0.5000"),
        ("200.00", "0.8000"),
    ]
    assert [w["spend"] for w in warnings][2:] == ["100.42", "200.21"]
    reached = events("spend_limit.reached")
    assert [(r["monthly_limit"], r["spend"]) for r in reached] == [
        ("100.00", "100.21"),
        ("200.00", "200.21"),
    ]


def test_a_renewal_that_would_take_spend_over_the_limit_is_refused(tenant, model):
    """A renewal is a new long lease: its fee from the old end to the month's end counts."""
    from leasing.services import lease_renew

    with at("2026-03-15 00:00"):  # 12 months at ¥3,510 a card-month, to 2027-03-15
        old = lease_create(
            actor=None, tenant=tenant, kind="long", card_model=model, card_count=1,
            start=dt.date(2026, 3, 15), term_months=12,
        )  # fmt: skip
    # March 2027: 14 days of the old lease ¥1,585.16; the renewal's 17 days ¥1,924.84 more
    Budget.objects.create(tenant=tenant, monthly_limit=D("2000.00"), action="stop")
    with at("2027-03-10 12:00"), pytest.raises(Conflict) as refused:
        lease_renew(actor=None, lease=old)
    assert refused.value.code == "spend_limit_reached"
    assert not Lease.objects.filter(renewed_from=old).exists()
    Budget.objects.filter(tenant=tenant).update(monthly_limit=D("3510.00"))
    with at("2027-03-10 12:00"):
        renewal = lease_renew(actor=None, lease=old)
    assert renewal.renewed_from_id == old.pk


def test_spend_is_what_the_invoice_preview_bills(tenant, model):
    """One rule: a month of a long lease from mid-month, a stopped and a running short lease,
    metered usage and a termination fee is, before tax and vouchers, the preview's subtotal."""
    from billing.services.invoicing import invoice_preview
    from billing.services.usage import usage_records_ingest
    from leasing.services import lease_stop, lease_terminate

    Budget.objects.create(tenant=tenant, monthly_limit=D("100000.00"), action="notify")
    with at("2027-03-05 09:00"):
        long = lease_create(
            actor=None, tenant=tenant, kind="long", card_model=model, card_count=1,
            start=dt.date(2027, 3, 7), term_months=12,
        )  # fmt: skip
        done = short(tenant, model)
    with at("2027-03-07 10:00"):
        running = short(tenant, model)
    with at("2027-03-08 11:17:20"):
        lease_stop(actor=None, lease=done)
        lease_meter_at_stop(done.pk)
        usage_records_ingest(
            records=[
                {"source": "ceph-meter", "external_id": "r-1", "lease": long.pk,
                 "metric": "storage_tb_hours", "quantity": "10.333",
                 "start": "2027-03-08T00:00:00Z", "end": "2027-03-08T01:00:00Z"},
            ],
            atomic=True,
        )  # fmt: skip
        lease_terminate(actor=None, lease=long, effective=dt.date(2027, 3, 20))
    with at("2027-03-12 13:45:10"):
        [row] = spend_rows(tenant_id=tenant.pk)
        preview = invoice_preview(tenant=tenant)
    kinds = {line.kind for line in preview.lines}
    assert kinds == {"long_lease_fee", "short_lease_usage", "metered_usage", "termination_fee"}
    assert running.status == "active"
    assert row.spend == preview.subtotal


@pytest.mark.parametrize(
    "data",
    [
        {"monthly_limit": "NaN"},
        {"monthly_limit": "inf"},
        {"monthly_limit": "ten"},
        {"monthly_limit": "100.00", "warn_at": ["NaN"]},
        {"monthly_limit": "100.00", "warn_at": ["0.5", "sNaN"]},
    ],
)
def test_the_service_refuses_what_is_not_a_number(tenant, data):
    """What a caller other than the API's serializer passes (the console's form, a script):
    refused by field, never a 500."""
    from billing.services.spend import budget_save
    from core.exceptions import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        budget_save(actor=None, tenant=tenant, data=data)
    assert refused.value.fields
    assert not Budget.objects.exists()


def test_a_stop_limit_refuses_until_the_operator_month_turns(tenant, model):
    """The month is Shanghai's: refused at 23:59 on 31 March (15:59 UTC), allowed at 00:00 on
    1 April (16:00 UTC, still 31 March in UTC)."""
    Budget.objects.create(tenant=tenant, monthly_limit=D("10.00"), action="stop")
    with at("2027-03-31 22:00"):
        lease = short(tenant, model)
    with at("2027-03-31 23:00"):  # ¥12.50
        assert spend_evaluate().stopped == [lease.pk]
    with at("2027-03-31 23:59:59"), pytest.raises(Conflict):
        short(tenant, model)
    with at("2027-04-01 00:00"):
        assert short(tenant, model).status == "active"
