"""Golden billing scenarios: fixed stories with every expected line worked out by hand.

Card models: Ascend-910B (domestic) 7.5000/h, 3900.0000/month (12-month fee 3510.0000);
H100 (imported) 22.0000/h, 9375.0000/month (12-month fee 8437.5000). VAT 6 %.
"""

import datetime as dt

import pytest

from billing.services.invoicing import invoice_void
from billing.services.usage import usage_records_ingest
from billing.services.vouchers import voucher_grant_create, voucher_program_create
from leasing.services import lease_create, lease_stop, lease_terminate
from tests.billing.conftest import D, invoice_for, issue, lines, long_lease, run
from tests.timing import at

pytestmark = pytest.mark.django_db


def test_a_long_lease_from_mid_month_across_a_month_end_and_29_february(tenant, domestic):
    with at("2028-01-15 10:00"):
        lease = long_lease(tenant, domestic, 2, "2028-01-20")
    with at("2028-03-02 09:00"):
        run("2028-01")
        run("2028-02")
    january = invoice_for(tenant, "2028-01")
    # 20 → 31 January: 12 active days of 31; 3510 × 2 × 12 / 31 = 2717.419… → 2717.42
    assert lines(january) == [
        ("long_lease_fee", lease.pk, D("0.774194"), D("3510.0000"), D("2717.42"),
         "2028-01-20", "2028-02-01"),
    ]  # fmt: skip
    assert (january.subtotal, january.tax, january.amount_due) == (
        D("2717.42"), D("163.05"), D("2880.47")
    )  # fmt: skip
    february = invoice_for(tenant, "2028-02")
    # February 2028 has 29 days, all active: a full month, 3510 × 2.
    assert lines(february) == [
        ("long_lease_fee", lease.pk, D("2.000000"), D("3510.0000"), D("7020.00"),
         "2028-02-01", "2028-03-01"),
    ]  # fmt: skip


def test_an_early_termination_bills_the_prorated_fee_and_the_termination_fee(tenant, domestic):
    with at("2028-01-15 10:00"):
        lease = long_lease(tenant, domestic, 2, "2028-01-20")
    with at("2028-02-01 10:00"):
        lease_terminate(actor=None, lease=lease, effective=dt.date(2028, 2, 10))
    with at("2028-03-01 09:00"):
        run("2028-02")
    february = invoice_for(tenant, "2028-02")
    # Fee for 1 → 10 February: 9 days of 29: 7020 × 9 / 29 = 2178.620… → 2178.62.
    # Termination: remaining commitment 7020 × (20/29 + 10 + 19/31) = 79,343.955…;
    # half of it = 39,671.977… → 39,671.98.
    assert lines(february) == [
        ("long_lease_fee", lease.pk, D("0.620690"), D("3510.0000"), D("2178.62"),
         "2028-02-01", "2028-02-10"),
        ("termination_fee", lease.pk, D("1.000000"), D("39671.9800"), D("39671.98"),
         "2028-02-10", "2029-01-20"),
    ]  # fmt: skip
    assert (february.subtotal, february.tax, february.amount_due) == (
        D("41850.60"), D("2511.04"), D("44361.64")
    )  # fmt: skip


def test_a_short_lease_at_odd_seconds_across_midnight_and_a_month_end(tenant, domestic):
    with at("2027-03-31 23:10:45"):
        lease = lease_create(actor=None, tenant=tenant, kind="short", card_model=domestic,
                             card_count=2)  # fmt: skip
    with at("2027-04-01 01:20:15"):
        lease_stop(actor=None, lease=lease)
    with at("2027-05-01 08:00"):
        run("2027-03")
        run("2027-04")
    # Held 23:10:45 → 01:20:15, widened to 23:10 → 01:21.
    # March: 50 minutes × 2 cards = 100 card-minutes: 100 × 7.5 / 60 = 12.50.
    assert lines(invoice_for(tenant, "2027-03")) == [
        ("short_lease_usage", lease.pk, D("1.666667"), D("7.5000"), D("12.50"),
         "2027-03-01", "2027-04-01"),
    ]  # fmt: skip
    # April: 81 minutes × 2 = 162 card-minutes: 162 × 7.5 / 60 = 20.25.
    april = invoice_for(tenant, "2027-04")
    assert lines(april) == [
        ("short_lease_usage", lease.pk, D("2.700000"), D("7.5000"), D("20.25"),
         "2027-04-01", "2027-05-01"),
    ]  # fmt: skip
    assert (april.subtotal, april.tax, april.amount_due) == (D("20.25"), D("1.22"), D("21.47"))


def test_a_single_card_half_cent_rounds_half_up(tenant, domestic):
    with at("2027-04-01 00:00:00"):
        lease = lease_create(actor=None, tenant=tenant, kind="short", card_model=domestic,
                             card_count=1)  # fmt: skip
    with at("2027-04-01 01:20:01"):
        lease_stop(actor=None, lease=lease)
    with at("2027-05-01 08:00"):
        run("2027-04")
    # 81 minutes × 7.5 / 60 = 10.125 → 10.13 (ROUND_HALF_UP).
    assert lines(invoice_for(tenant, "2027-04"))[0][2:5] == (D("1.350000"), D("7.5000"), D("10.13"))


@pytest.fixture
def programme(domestic):
    return voucher_program_create(
        actor=None, issuer="宜昌市 Yichang", name="2027 compute vouchers", budget=D("100000.00"),
        coverage_rate=D("0.2000"), per_tenant_cap=D("20000.00"), valid_from=dt.date(2027, 1, 1),
        valid_to=dt.date(2027, 12, 31), lease_kinds=["long", "short"],
        model_rates=[{"card_model": domestic, "rate": D("0.3000")}],
    )  # fmt: skip


def test_a_voucher_runs_out_mid_invoice_and_the_later_grant_covers_the_rest(
    tenant, domestic, imported, programme
):
    with at("2027-02-20 10:00"):
        domestic_lease = long_lease(tenant, domestic, 4, "2027-03-01")
        imported_lease = long_lease(tenant, imported, 2, "2027-03-01")
        late = voucher_grant_create(
            actor=None,
            program=programme,
            tenant=tenant,
            amount=D("10000.00"),
            valid_to=dt.date(2027, 12, 31),
        )
        early = voucher_grant_create(
            actor=None, program=programme, tenant=tenant, amount=D("5000.00"),
            valid_to=dt.date(2027, 6, 30),
        )  # fmt: skip
    with at("2027-04-01 09:00"):
        run("2027-03")
        invoice = issue(invoice_for(tenant, "2027-03"))
    # Lines: 3510 × 4 = 14,040.00 (domestic, 30 %); 8437.5 × 2 = 16,875.00 (imported, 20 %).
    assert [(k, lease, amount) for k, lease, _, _, amount, _, _ in lines(invoice)] == [
        ("long_lease_fee", domestic_lease.pk, D("14040.00")),
        ("long_lease_fee", imported_lease.pk, D("16875.00")),
    ]
    # Both grants are of one programme: it covers 4212.00 + 3375.00 = 7587.00 once. The early
    # grant (expires first) pays 5000.00 of that, all it holds; the later one the rest, 2587.00.
    redemptions = {r.grant_id: r.amount for r in invoice.redemptions.all()}
    assert redemptions == {early.pk: D("5000.00"), late.pk: D("2587.00")}
    # Tax on the full subtotal; the vouchers are a third-party payment.
    assert (invoice.subtotal, invoice.tax, invoice.voucher_deduction, invoice.amount_due) == (
        D("30915.00"), D("1854.90"), D("7587.00"), D("25182.90")
    )  # fmt: skip
    early.refresh_from_db()
    late.refresh_from_db()
    assert (early.redeemed, late.redeemed) == (D("5000.00"), D("2587.00"))
    assert invoice.number == "INV-2027-000001"


def test_a_late_usage_record_after_issue_goes_on_the_next_invoice_as_prior_period(tenant, domestic):
    with at("2027-03-05 10:00"):
        lease = long_lease(tenant, domestic, 1, "2027-03-05")

    def storage(external_id: str, start: str, end: str, quantity: str) -> None:
        result = usage_records_ingest(records=[{
            "source": "ceph", "external_id": external_id, "lease": lease.pk,
            "metric": "storage_tb_hours", "quantity": D(quantity), "start": start, "end": end,
        }])  # fmt: skip
        assert result.accepted == 1, result.errors

    with at("2027-04-01 09:00"):
        storage("m-1", "2027-03-10T00:00:00+08:00", "2027-03-11T00:00:00+08:00", "240")
        run("2027-03")
        march = issue(invoice_for(tenant, "2027-03"))
    # 27 days of 31: 3510 × 27 / 31 = 3057.096… → 3057.10; storage 240 × 0.14 = 33.60.
    assert [(k, amount) for k, _, _, _, amount, _, _ in lines(march)] == [
        ("long_lease_fee", D("3057.10")),
        ("metered_usage", D("33.60")),
    ]
    with at("2027-04-03 09:00"):
        storage("m-2", "2027-03-30T00:00:00+08:00", "2027-03-31T00:00:00+08:00", "100.5")
    with at("2027-05-01 09:00"):
        run("2027-04")
    april = invoice_for(tenant, "2027-04")
    # 100.5 × 0.14 = 14.07, billed in April as a March prior-period line.
    assert lines(april) == [
        ("long_lease_fee", lease.pk, D("1.000000"), D("3510.0000"), D("3510.00"),
         "2027-04-01", "2027-05-01"),
        ("prior_period", lease.pk, D("100.500000"), D("0.1400"), D("14.07"),
         "2027-03-01", "2027-04-01"),
    ]  # fmt: skip
    march.refresh_from_db()
    assert march.lines.count() == 2  # the issued invoice never changes


def test_void_restores_vouchers_and_the_month_is_billed_again_under_a_new_number(
    tenant, domestic, programme
):
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, 4, "2027-03-01")
        grant = voucher_grant_create(actor=None, program=programme, tenant=tenant,
                                     amount=D("20000.00"))  # fmt: skip
    with at("2027-04-01 09:00"):
        run("2027-03")
        first = issue(invoice_for(tenant, "2027-03"))
    assert first.voucher_deduction == D("4212.00")  # 14,040 × 30 %
    with at("2027-04-02 09:00"):
        invoice_void(actor=None, invoice=first, reason="wrong tax id")
    grant.refresh_from_db()
    assert grant.redeemed == D("0.00")
    with at("2027-04-03 09:00"):
        run("2027-03")
        second = issue(invoice_for(tenant, "2027-03"))
    first.refresh_from_db()
    assert (first.status, first.number) == ("void", "INV-2027-000001")
    assert second.number == "INV-2027-000002"
    assert (second.subtotal, second.voucher_deduction, second.amount_due) == (
        D("14040.00"), D("4212.00"), D("10670.40")
    )  # fmt: skip
    grant.refresh_from_db()
    assert grant.redeemed == D("4212.00")


def test_usage_that_arrives_between_the_run_and_the_issue_is_on_the_issued_invoice(
    tenant, domestic
):
    with at("2027-03-05 10:00"):
        lease = long_lease(tenant, domestic, 1, "2027-03-05")

    def egress(external_id: str, quantity: str) -> None:
        result = usage_records_ingest(records=[{
            "source": "border", "external_id": external_id, "lease": lease.pk,
            "metric": "egress_tb", "quantity": D(quantity),
            "start": "2027-03-20T00:00:00+08:00", "end": "2027-03-21T00:00:00+08:00",
        }])  # fmt: skip
        assert result.accepted == 1, result.errors

    with at("2027-04-01 09:00"):
        egress("e-1", "0.5")
        run("2027-03")
        draft = invoice_for(tenant, "2027-03")
        assert [line[4] for line in lines(draft)] == [D("3057.10"), D("250.00")]
        egress("e-2", "0.25")  # after the run, before the issue
        issued = issue(draft)
    # The issued invoice bills the usage it claimed: 0.75 TB × 500.00 = 375.00.
    assert [line[4] for line in lines(issued)] == [D("3057.10"), D("375.00")]
    assert issued.subtotal == D("3432.10")
    assert set(issued.usage_records.values_list("external_id", flat=True)) == {"e-1", "e-2"}
