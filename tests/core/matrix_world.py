"""The objects the role matrix requests against: two tenants' leases, usage, invoices, credit
notes, voucher grants, and the staff's inventory, runs and business cases; built once per module
(tests/core/test_role_matrix.py).

The clock: leases from 2027-03-01, March and April invoiced and issued, May's drafts made; the
matrix runs at `NOW`, when a short lease is active and another reserved for the next day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from accounts.models import Tenant, User
from analytics.business_case import business_case_create
from analytics.models import BusinessCase
from analytics.services import snapshots_recompute, snapshots_recompute_by_site
from billing.models import (
    Budget,
    CreditNote,
    Invoice,
    InvoiceRun,
    UsageRecord,
    VoucherGrant,
)
from billing.services.fapiao import billing_profile_save, invoice_fapiao_record
from billing.services.invoicing import (
    credit_note_create,
    invoice_issue,
    invoice_pay,
    invoice_run,
)
from billing.services.usage import usage_records_ingest
from billing.services.vouchers import voucher_grant_create, voucher_program_create
from core import clock
from core.models import IdempotencyKey
from core.roles import Role
from events.models import Delivery, Event, WebhookEndpoint
from events.services import endpoint_create
from leasing.models import Lease
from leasing.services import lease_create
from marketplace.models import Card, CardModel, Rack, Server, Site
from tests.factories import (
    CardModelFactory,
    RackFactory,
    ServerFactory,
    SiteFactory,
    TenantFactory,
    UserFactory,
    make_server_with_cards,
)
from tests.timing import at

NOW = "2027-06-02 10:00"
WORLD_TAX_IDS = {
    "a": "91420500MA4F0YL01G",
    "b": "91621000MA7A2XB03H",
}  # operator-local; the matrix's requests run at this time
ACTORS = ("tenant_a", "tenant_b", "operator", "finance", "admin", "anonymous")


@dataclass
class Side:
    """One tenant's user and objects."""

    tenant: Tenant
    user: User
    long: Lease  # active 2027-03-01 for 12 months
    usage: UsageRecord
    march: Invoice  # issued, with a credit note and a partial payment
    april: Invoice  # issued
    may: Invoice  # draft
    credit_note: CreditNote
    grant: VoucherGrant
    short: Lease | None = None  # active at NOW
    reserved: Lease | None = None  # short, from the day after NOW

    def ids(self) -> dict[str, set[Any]]:
        """This tenant's rows by resource, for the lists' leak checks."""
        leases = {self.long.pk} | {x.pk for x in (self.short, self.reserved) if x is not None}
        return {
            "leases": leases,
            "usage-records": set(
                UsageRecord.objects.filter(tenant=self.tenant).values_list("pk", flat=True)
            ),
            "invoices": set(
                Invoice.objects.filter(tenant=self.tenant).values_list("pk", flat=True)
            ),
            "credit-notes": {self.credit_note.pk},
            "events": {
                str(pk)
                for pk in Event.objects.filter(tenant=self.tenant).values_list("pk", flat=True)
            },
            "webhook-endpoints": set(
                WebhookEndpoint.objects.filter(tenant=self.tenant).values_list("pk", flat=True)
            ),
            "voucher-grants": {self.grant.pk},
            "tenants": {self.tenant.pk},
            "cards": set(
                Card.objects.filter(allocations__lease__tenant=self.tenant).values_list(
                    "pk", flat=True
                )
            ),
        }


@dataclass
class World:
    a: Side
    b: Side
    users: dict[str, User | None]
    model: CardModel
    spare_model: CardModel  # no cards, no leases: deletable
    site: Site
    empty_site: Site
    rack: Rack
    empty_rack: Rack
    empty_server: Server
    free_card: Card
    program: Any
    run: InvoiceRun
    business_case: BusinessCase
    extra: dict[str, Any] = field(default_factory=dict)


def _usage(lease: Lease, tenant: Tenant, external_id: str) -> UsageRecord:
    result = usage_records_ingest(
        records=[
            {
                "source": "ceph-meter", "external_id": external_id, "lease": lease.pk,
                "metric": "storage_tb_hours", "quantity": "1.5",
                "start": "2027-03-10T00:00:00Z", "end": "2027-03-10T01:00:00Z",
            }
        ],
        tenant_id=tenant.pk,
    )  # fmt: skip
    assert result.accepted == 1, result.errors
    return UsageRecord.objects.get(tenant=tenant, external_id=external_id)


def _month(text: str) -> dt.date:
    return clock.parse_month(text)


def build_world() -> World:
    model = CardModelFactory(
        hourly_rate=Decimal("7.5000"), monthly_rate=Decimal("3900.0000"), domestic=True
    )
    spare_model = CardModelFactory()
    site = SiteFactory()
    rack = RackFactory(site=site)
    for _ in range(2):
        make_server_with_cards(rack, model)
    empty_site = SiteFactory()
    empty_rack = RackFactory(site=site)
    empty_server = ServerFactory(rack=rack)
    free_card = Card.objects.filter(card_model=model).order_by("-id").first()
    assert free_card is not None
    users: dict[str, User | None] = {
        "operator": cast(User, UserFactory(role=Role.OPERATOR)),
        "finance": cast(User, UserFactory(role=Role.FINANCE)),
        "admin": cast(User, UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True)),
        "anonymous": None,
    }
    with at("2027-01-05 09:00"):
        program = voucher_program_create(
            actor=None, issuer="Chengdu", name="2027 vouchers", budget=Decimal("50000.00"),
            coverage_rate=Decimal("0.2000"), per_tenant_cap=Decimal("20000.00"),
            valid_from=dt.date(2027, 1, 1), valid_to=dt.date(2027, 12, 31),
            lease_kinds=["long", "short"], max_term_months=12,
        )  # fmt: skip
    partial: dict[str, dict[str, Any]] = {}
    for name in ("a", "b"):
        tenant = TenantFactory()
        user = cast(User, UserFactory(role=Role.TENANT, tenant=tenant))
        users[f"tenant_{name}"] = user
        with at("2027-02-20 10:00"):
            grant = voucher_grant_create(
                actor=None, program=program, tenant=tenant, amount=Decimal("100.00")
            )
            long = lease_create(
                actor=None, tenant=tenant, kind="long", card_model=model, card_count=2,
                start=dt.date(2027, 3, 1), term_months=12,
            )  # fmt: skip
        with at("2027-04-01 00:00"):
            usage = _usage(long, tenant, f"{name}-1")
        partial[name] = {
            "tenant": tenant,
            "user": user,
            "long": long,
            "usage": usage,
            "grant": grant,
        }
    invoices: dict[tuple[str, str], Invoice] = {}
    for month, when in (("2027-03", "2027-04-01 09:00"), ("2027-04", "2027-05-01 09:00")):
        with at(when):
            run = invoice_run(month=_month(month))
            assert run.status == "done", run.error
            for name in ("a", "b"):
                draft = Invoice.objects.get(tenant=partial[name]["tenant"], month=_month(month))
                invoices[(name, month)] = invoice_issue(actor=None, invoice=draft)
    with at("2027-06-01 09:00"):
        run = invoice_run(month=_month("2027-05"))
        assert run.status == "done", run.error
        for name in ("a", "b"):
            invoices[(name, "2027-05")] = Invoice.objects.get(
                tenant=partial[name]["tenant"], month=_month("2027-05")
            )
    # Invoicing in China: each tenant's billing profile, and March's fapiao recorded (so its
    # credit note has a red fapiao request)
    with at("2027-05-02 09:00"):
        for index, name in enumerate(("a", "b"), start=1):
            billing_profile_save(
                actor=None, tenant=partial[name]["tenant"],
                data={"invoice_title": f"Tenant {name} Co., Ltd.", "tax_id": WORLD_TAX_IDS[name]},
            )  # fmt: skip
            invoice_fapiao_record(
                actor=None, invoice=invoices[(name, "2027-03")],
                number=f"2742000000000000000{index}", issued_on=dt.date(2027, 5, 2),
            )  # fmt: skip
            invoices[(name, "2027-03")].refresh_from_db()
            # spend limits: each tenant's budget (notify: nothing it does is refused)
            Budget.objects.create(
                tenant=partial[name]["tenant"], monthly_limit=Decimal("1000000.00"), action="notify"
            )
    sides: dict[str, Side] = {}
    with at("2027-06-01 10:00"):
        for name in ("a", "b"):
            march = invoices[(name, "2027-03")]
            note = credit_note_create(actor=None, invoice=march, amount="10.00", reason="goodwill")
            # a partial payment: march stays issued (the admin's payment routes need a row)
            invoice_pay(actor=None, invoice=march, amount="100.00", paid_on=None, reference="m")
            sides[name] = Side(
                march=march, april=invoices[(name, "2027-04")], may=invoices[(name, "2027-05")],
                credit_note=note, **partial[name],
            )  # fmt: skip
        case = business_case_create(actor=users["operator"], site=site)
        recompute = snapshots_recompute(
            day_from=dt.date(2027, 5, 1), day_to=dt.date(2027, 5, 2), trigger="api"
        )
        snapshots_recompute_by_site(day_from=dt.date(2027, 5, 3), day_to=dt.date(2027, 5, 3))
    endpoints = {
        name: endpoint_create(
            actor=None, tenant=sides[name].tenant, url=f"https://h.example/{name}"
        )
        for name in ("a", "b")
    }
    with at(NOW):
        a = sides["a"]
        a.short = lease_create(actor=None, tenant=a.tenant, kind="short", card_model=model,
                               card_count=1)  # fmt: skip
        start = clock.now() + dt.timedelta(days=1)
        a.reserved = lease_create(
            actor=None, tenant=a.tenant, kind="short", card_model=model, card_count=1,
            start=start, end=start + dt.timedelta(hours=4),
        )  # fmt: skip
    assert a.short.status == "active" and a.reserved.status == "reserved"
    # A's webhook endpoint got the two leases' events; the first delivery failed for good
    delivery = Delivery.objects.filter(endpoint=endpoints["a"]).order_by("id").first()
    assert delivery is not None
    Delivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=8)
    event = Event.objects.filter(tenant=a.tenant).order_by("created").first()
    _admin_rows()
    return World(
        a=sides["a"], b=sides["b"], users=users, model=model, spare_model=spare_model, site=site,
        empty_site=empty_site, rack=rack, empty_rack=empty_rack, empty_server=empty_server,
        free_card=free_card, program=program, run=run, business_case=case,
        extra={
            "recompute": recompute, "endpoint": endpoints["a"], "delivery": delivery,
            "event": event,
        },
    )  # fmt: skip


def _admin_rows() -> None:
    """A row of each model the admin shows that the story above does not make."""
    Group.objects.create(name="matrix")
    IdempotencyKey.objects.create(scope="user:0", key="matrix", request_fingerprint="x",
                                  response_status=201, response_body={})  # fmt: skip
    interval = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)
    CrontabSchedule.objects.create(minute="0", hour="3")
    SolarSchedule.objects.create(event="sunrise", latitude=30.7, longitude=111.3)
    ClockedSchedule.objects.create(clocked_time=dt.datetime(2027, 6, 3, tzinfo=dt.UTC))
    PeriodicTask.objects.create(name="matrix", task="core.noop", interval=interval)
    AccessAttempt.objects.create(username="x", ip_address="10.0.0.1", user_agent="t",
                                 failures_since_start=1)  # fmt: skip
    AccessLog.objects.create(username="x", ip_address="10.0.0.1", user_agent="t")
    AccessFailureLog.objects.create(username="x", ip_address="10.0.0.1", user_agent="t")
