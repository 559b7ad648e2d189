"""Demo billing: a compute-voucher programme and grants, the meters' usage since the demo's
history began, and the invoices of the past months: the first two issued (vouchers redeemed),
the first of them with its fapiao number recorded and paid, and last month's drafts waiting for
finance to issue. The tenants' billing profiles come first, so issued invoices carry them.

Everything goes through the services (usage ingestion, invoice runs, issuing), as it would have
happened; the history's first day is leasing's demo `history_start`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from accounts.models import Tenant
from billing.choices import InvoiceStatus
from billing.models import Invoice, VoucherProgram
from billing.pricebook import ensure_builtin_metrics
from billing.services.fapiao import billing_profile_save, invoice_fapiao_record
from billing.services.invoicing import invoice_issue, invoice_pay, invoice_run
from billing.services.usage import usage_records_ingest
from billing.services.vouchers import voucher_grant_create, voucher_program_create
from core import clock
from leasing.choices import LeaseKind
from leasing.demo import history_start
from leasing.models import Lease
from marketplace.models import CardModel

METER_SOURCE = "demo-dcgm"  # the cluster's utilisation exporter
STORAGE_SOURCE = "demo-ceph"
STORAGE_TB = Decimal("12.5")
# Busy share of a leased card, by weekday (Monday first): busier in the week.
OFFICE_HOURS = dt.time(10, 0)  # when finance runs, issues and records payments
BUSY_SHARE = [Decimal(s) for s in ("0.82", "0.86", "0.88", "0.85", "0.79", "0.55", "0.48")]


def _seed_vouchers(first: dt.date) -> None:
    today = clock.local_today()
    domestic = list(CardModel.objects.filter(domestic=True))
    programme = voucher_program_create(
        actor=None,
        issuer="宜昌市 Yichang Municipal Bureau of Economy and IT",
        name=f"{first.year} 算力券 compute vouchers",
        budget=Decimal("5000000.00"),
        coverage_rate=Decimal("0.2000"),
        per_tenant_cap=Decimal("500000.00"),
        valid_from=dt.date(first.year, 1, 1),
        valid_to=dt.date(today.year + 1, 12, 31),
        lease_kinds=["long", "short"],
        max_term_months=36,
        model_rates=[{"card_model": m, "rate": Decimal("0.3000")} for m in domestic],
    )
    for tenant in Tenant.objects.order_by("id")[:2]:
        voucher_grant_create(
            actor=None, program=programme, tenant=tenant, amount=Decimal("200000.00")
        )


def _day_record(lease: Lease, day: dt.date, **values: Any) -> dict[str, Any]:
    start, end = clock.day_bounds(day)
    return {
        "lease": lease.pk,
        "start": start.isoformat(),
        "end": end.isoformat(),
        **values,
    }


def _usage_of(lease: Lease, day: dt.date, *, with_storage: bool) -> list[dict[str, Any]]:
    busy = lease.card_count * 24 * BUSY_SHARE[day.weekday()]
    records = [
        _day_record(
            lease,
            day,
            source=METER_SOURCE,
            external_id=f"busy:{lease.pk}:{day.isoformat()}",
            metric="card_busy_hours",
            quantity=str(busy),
        )
    ]
    if with_storage:
        records.append(
            _day_record(
                lease,
                day,
                source=STORAGE_SOURCE,
                external_id=f"storage:{lease.pk}:{day.isoformat()}",
                metric="storage_tb_hours",
                quantity=str(STORAGE_TB * 24),
            )
        )
    return records


def _seed_usage() -> None:
    """Per running long lease and past day: card-busy hours; for the first tenant, storage too."""
    yesterday = clock.local_today() - dt.timedelta(days=1)
    first_tenant = Tenant.objects.order_by("id").values_list("id", flat=True).first()
    started = Lease.objects.filter(kind=LeaseKind.LONG, start__lt=clock.now()).order_by("id")
    for lease in started:
        records = []
        day = clock.local_date(lease.start)
        while day <= yesterday:
            records += _usage_of(lease, day, with_storage=lease.tenant_id == first_tenant)
            day += dt.timedelta(days=1)
        if records:
            usage_records_ingest(records=records, tenant_id=lease.tenant_id)


def _on(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, OFFICE_HOURS, tzinfo=clock.operator_tz())


def _seed_invoices() -> None:
    """Three months back and the month before last: run and issued on the 3rd of the month after,
    the first also paid on the 15th. Last month: run, left as drafts. Played at those days, as
    finance would have done it."""
    this_month = clock.month_first(clock.local_today())
    for back, paid in ((3, True), (2, False)):
        month = clock.add_months(this_month, -back)
        with clock.played_at(_on(clock.add_months(month, 1).replace(day=3))):
            invoice_run(month=month)
            drafts = Invoice.objects.filter(month=month, status=InvoiceStatus.DRAFT)
            issued = [invoice_issue(actor=None, invoice=invoice) for invoice in drafts]
        if paid:  # the tax system's fapiao of the oldest month, recorded on the 5th
            fapiao_on = clock.add_months(month, 1).replace(day=5)
            with clock.played_at(_on(fapiao_on)):
                for index, invoice in enumerate(issued, start=1):
                    invoice_fapiao_record(
                        actor=None,
                        invoice=invoice,
                        number=f"{fapiao_on:%y}42{fapiao_on:%m%d}0000000{index:05d}",
                        issued_on=fapiao_on,
                    )
        if paid:
            paid_on = clock.add_months(month, 1).replace(day=15)
            with clock.played_at(_on(paid_on)):
                for invoice in issued:
                    invoice_pay(actor=None, invoice=invoice, paid_on=paid_on, reference="demo")
    invoice_run(month=clock.add_months(this_month, -1))


# Billing profiles (发票抬头) of the demo tenants, in accounts.demo's order: the first asks for a
# special fapiao (every field), the others for ordinary ones.
DEMO_PROFILES = [
    {
        "invoice_title": "宜昌智源人工智能实验室有限公司 (演示 DEMO)",
        "fapiao_type": "special",
        "bank_name": "演示 DEMO 银行宜昌西陵支行",
        "bank_account": "4200 0000 0000 0001",
        "registered_address": "湖北省宜昌市西陵区演示路1号",
        "registered_phone": "0717-0000001",
        "email": "finance@zhiyuan.example",
    },
    {"invoice_title": "成都树蓝机器人有限公司 (演示 DEMO)", "email": "ap@shulan.example"},
    {"invoice_title": "西部云集团有限公司 (演示 DEMO)"},
]


def _seed_profiles() -> None:
    tenants = Tenant.objects.order_by("id")
    for tenant, profile in zip(tenants, DEMO_PROFILES, strict=False):
        billing_profile_save(actor=None, tenant=tenant, data={**profile, "tax_id": tenant.tax_id})


def seed() -> None:
    ensure_builtin_metrics()
    if VoucherProgram.objects.exists():
        return
    first = history_start()
    _seed_profiles()
    _seed_vouchers(first)
    _seed_usage()
    _seed_invoices()
