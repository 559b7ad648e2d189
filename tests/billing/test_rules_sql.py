"""The billing rules that bulk SQL applies too: each named SQL fragment in billing.rules gives,
on PostgreSQL, what its Python twin gives, on generated cases."""

import datetime as dt

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.choices import InvoiceStatus
from billing.models import Invoice
from billing.rules import usage_billable, usage_billable_sql
from core import clock

pytestmark = pytest.mark.django_db

DB = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
RUN_MONTH = dt.date(2027, 3, 1)
months = st.integers(-2, 1).map(lambda offset: clock.add_months(RUN_MONTH, offset))
live = st.sampled_from([None, *(s for s in InvoiceStatus if s != InvoiceStatus.VOID)])


def _invoice(tenant, month: dt.date, status: str, n: int) -> None:
    closed = status != InvoiceStatus.DRAFT
    Invoice.objects.create(
        tenant=tenant,
        month=month,
        status=status,
        number=f"T-{month:%Y%m}-{n}" if closed or status == InvoiceStatus.VOID else None,
        buyer={"name": "b"} if closed else {},
        seller={"name": "s"} if closed else {},
        tax_rate=0,
    )


@DB
@given(
    billable=st.booleans(),
    invoiced=st.booleans(),
    record_month=months,
    status=live,
    voids=st.integers(0, 2),
    other_month_status=live,
)
def test_billable_usage_is_the_same_in_sql_and_python(
    tenant, billable, invoiced, record_month, status, voids, other_month_status
) -> None:
    with transaction.atomic():
        statuses = [InvoiceStatus.VOID] * voids + ([status] if status else [])
        for n, each in enumerate(statuses):
            _invoice(tenant, record_month, each, n)
        if other_month_status:  # the tenant's invoice of another month: not this record's
            _invoice(tenant, clock.add_months(record_month, 1), other_month_status, 9)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT EXISTS (
                    SELECT 1
                    FROM (SELECT %(tenant)s::bigint AS tenant_id, %(record_month)s::date AS month,
                                 %(invoice)s::bigint AS invoice_id) r,
                         (SELECT %(billable)s::boolean AS billable) m
                    WHERE {usage_billable_sql("r", "m", "%(month)s::date")}
                )
                """,
                {
                    "tenant": tenant.pk,
                    "record_month": record_month,
                    "invoice": 1 if invoiced else None,
                    "billable": billable,
                    "month": RUN_MONTH,
                },
            )
            in_sql = cursor.fetchone()[0]
        transaction.set_rollback(True)
    in_python = usage_billable(
        metric_billable=billable,
        invoiced=invoiced,
        record_month=record_month,
        run_month=RUN_MONTH,
        invoice_statuses=statuses,
    )
    assert in_sql == in_python
