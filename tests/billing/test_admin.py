"""Invoices in the admin: read-only; staff issue and void them through the invoicing services
(numbering, vouchers, audit), void with a reason."""

import pytest
from django.test import Client

from billing.models import Invoice
from core.models import AuditLog
from tests.billing.conftest import long_lease, run
from tests.timing import at

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/billing/invoice/"


@pytest.fixture
def draft(tenant, domestic) -> Invoice:
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, 4, "2027-03-01")
    with at("2027-04-01 09:00"):
        run("2027-03")
    return Invoice.objects.get()


def test_issue_then_void_with_a_reason_go_through_the_services(admin_user, draft) -> None:
    with at("2027-04-01 09:00"):
        client = Client()
        client.force_login(admin_user, backend="django.contrib.auth.backends.ModelBackend")
        page = f"{CHANGELIST}{draft.pk}/change/"
        assert client.get(page).status_code == 200
        assert client.post(page, {"status": "paid"}).status_code == 403
        selected = {"_selected_action": [draft.pk]}
        assert client.post(CHANGELIST, {**selected, "action": "issue"}).status_code == 302
        issued = Invoice.objects.get(pk=draft.pk)
        assert (issued.status, issued.number) == ("issued", "INV-2027-000001")
        confirm = client.post(CHANGELIST, {**selected, "action": "void"})
        assert confirm.status_code == 200  # asks for the reason first
        assert Invoice.objects.get(pk=draft.pk).status == "issued"
        done = client.post(
            CHANGELIST, {**selected, "action": "void", "apply": "1", "reason": "wrong buyer"}
        )
        assert done.status_code == 302
    voided = Invoice.objects.get(pk=draft.pk)
    assert (voided.status, voided.void_reason) == ("void", "wrong buyer")
    actions = list(
        AuditLog.objects.filter(object_id=str(draft.pk), actor=admin_user)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["invoice.issue", "invoice.void"]
