"""The fapiao pages in Chromium: a tenant fills in its billing profile through the navigation (a
wrong check digit and a special fapiao without the bank are said by field, then saved);
finance opens the Fapiao queue, records a number (a 19-digit one refused beside its row) and
sees it under Recorded; the queue in Chinese."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
import time_machine
from playwright.sync_api import expect

from billing.models import BillingProfile, Invoice
from billing.services.invoicing import invoice_issue
from core import clock
from leasing.services import lease_create
from tests.billing.conftest import invoice_for, run
from tests.browser.conftest import Console, People
from tests.factories import CardModelFactory, RackFactory, make_server_with_cards
from tests.timing import at

APRIL_2ND = dt.datetime(2027, 4, 2, 10, 0, tzinfo=clock.operator_tz())
TAX_ID = "91420500MA4F0YL01G"


@pytest.fixture
def april(people: People) -> Iterator[None]:
    with time_machine.travel(APRIL_2ND, tick=True):
        yield


@pytest.fixture
def issued_march(people: People) -> Iterator[Invoice]:
    """The tenant's March invoice (2 cards at 3,510.00: 7,020.00 + 421.20 tax), issued on
    2027-04-02; the clock runs from then for the server and the test alike."""
    model = CardModelFactory(
        name="Ascend-910B", domestic=True, monthly_rate=Decimal("3900.0000"), hourly_rate="7.5"
    )
    make_server_with_cards(RackFactory(), model)
    with at("2027-02-20 10:00"):
        lease_create(
            actor=None, tenant=people.tenant, kind="long", card_model=model, card_count=2,
            start=dt.date(2027, 3, 1), term_months=12,
        )  # fmt: skip
    with time_machine.travel(APRIL_2ND, tick=True):
        run("2027-03")
        yield invoice_issue(actor=None, invoice=invoice_for(people.tenant, "2027-03"))


def test_a_tenant_fills_in_its_billing_profile(console: Console, people: People, april: None):
    page = console.page
    console.login(people.tenant_user.username)
    page.click("nav.mainnav >> text=Billing profile")
    page.wait_for_url("**/console/billing/profile/")
    assert page.get_by_test_id("profile-empty").is_visible()
    console.check()
    page.get_by_label("Invoice title (发票抬头)").fill("宜昌智源人工智能实验室有限公司")
    page.get_by_label("Unified Social Credit Code (统一社会信用代码)").fill(TAX_ID[:-1] + "H")
    page.get_by_label("Fapiao type").select_option("special")
    console.submit("[data-testid=save-profile]")
    expect(page.locator(".field-error").first).to_be_visible()
    assert "check digit" in page.locator(".has-error", has=page.locator("#id_tax_id")).inner_text()
    assert page.locator(".has-error", has=page.locator("#id_bank_name")).is_visible()
    assert not BillingProfile.objects.exists()
    page.get_by_label("Unified Social Credit Code (统一社会信用代码)").fill(TAX_ID)
    page.get_by_label("Bank", exact=True).fill("中国银行宜昌分行")
    page.get_by_label("Bank account").fill("5678 1234 0000 0001")
    page.get_by_label("Registered address").fill("湖北省宜昌市西陵区发展大道1号")
    page.get_by_label("Registered phone").fill("0717-1234567")
    page.get_by_label("Email").fill("finance@zhiyuan.example")
    console.submit("[data-testid=save-profile]")
    expect(page.get_by_test_id("profile-title")).to_have_text("宜昌智源人工智能实验室有限公司")
    expect(page.get_by_test_id("profile-type")).to_contain_text("Special")
    assert BillingProfile.objects.get().fapiao_type == "special"


def test_finance_records_a_fapiao_number(
    console: Console, people: People, issued_march: Invoice
) -> None:
    page = console.page
    console.login(people.finance.username)
    page.click("nav.mainnav >> text=Fapiao")
    page.wait_for_url("**/console/billing/fapiao/")
    row = page.get_by_test_id("pending-row").filter(has_text="INV-2027-000001")
    expect(row.get_by_test_id("capitals")).to_have_text("柒仟肆佰肆拾壹元贰角")
    console.check()
    row.get_by_label("Fapiao number").fill("1" * 19)
    console.submit("[data-testid=pending-row] [data-testid=record-submit]")
    expect(page.get_by_test_id("pending-row").locator(".field-error")).to_have_text(
        "A fapiao number is 20 digits."
    )
    assert Invoice.objects.get().fapiao_number is None
    page.get_by_test_id("pending-row").get_by_label("Fapiao number").fill("2" * 20)
    console.submit("[data-testid=pending-row] [data-testid=record-submit]")
    expect(page.get_by_test_id("pending-empty")).to_be_visible()
    expect(page.get_by_test_id("fapiao-number")).to_have_text("2" * 20)
    assert Invoice.objects.get().fapiao_number == "2" * 20


def test_the_queue_in_chinese(console: Console, people: People, issued_march: Invoice) -> None:
    console.login(people.finance.username)
    console.goto("/console/billing/fapiao/")
    console.submit("form.lang button[value=zh-hans]")
    page = console.page
    expect(page.get_by_test_id("fapiao-title")).to_have_text("发票 2027-04")
    assert "待登记发票号码" in page.get_by_test_id("fapiao-pending").inner_text()
    assert "价税合计" in page.get_by_test_id("fapiao-pending").inner_text()
    console.check()
