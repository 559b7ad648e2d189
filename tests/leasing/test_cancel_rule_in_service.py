"""Who may cancel what is the lease service's rule, not the view's: any caller keeps it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from core.exceptions import Forbidden
from leasing import services
from leasing.models import Lease
from tests.factories import LeaseFactory

pytestmark = pytest.mark.django_db

LATER = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)


def test_a_tenant_may_not_cancel_a_long_commitment(tenant_user: Any, operator: Any) -> None:
    end = LATER.replace(year=2100)
    lease = LeaseFactory(
        tenant=tenant_user.tenant, kind="long", status="reserved", start=LATER, end=end,
        committed_end=end, term_months=12,
    )  # fmt: skip
    with pytest.raises(Forbidden, match="terminate"):
        services.lease_cancel(actor=tenant_user, lease=lease)
    assert Lease.objects.get().status == "reserved"
    assert services.lease_cancel(actor=operator, lease=lease).status == "cancelled"
