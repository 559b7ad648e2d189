"""The invoice build turns JIT and merge joins off for its own statements only: the rest of an
issuing transaction is planned as usual."""

import pytest
from django.db import connection, transaction

from tests.billing.conftest import invoice_for, issue, run
from tests.timing import at

pytestmark = pytest.mark.django_db


def _settings() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit'), current_setting('enable_mergejoin')")
        return cursor.fetchone()


def test_issuing_leaves_the_transactions_planner_settings_as_they_were(tenant, lease):
    before = _settings()
    with at("2027-04-01 09:00"):
        run("2027-03")
        with transaction.atomic():
            issue(invoice_for(tenant, "2027-03"))
            assert _settings() == before
    assert before[1] == "on"
