"""Real threads, real transactions: a spend-limit pass racing a tenant's own stop."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connections, transaction

from billing.models import Budget
from billing.services.spend import spend_evaluate
from events.models import Event
from leasing.models import Lease
from leasing.services import lease_create, lease_stop
from tests.concurrency import run_concurrently
from tests.factories import CardModelFactory, RackFactory, TenantFactory, make_server_with_cards
from tests.timing import at

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_lease_stopped_while_the_pass_stops_it_does_not_fail_the_pass():
    """The tenant stops its lease while the pass is about to: the pass waits for that stop,
    skips the lease, and still stops the others and records every notice."""
    model = CardModelFactory(hourly_rate=Decimal("12.5000"), monthly_rate=Decimal("3900.0000"))
    make_server_with_cards(RackFactory(), model)
    tenant, other = TenantFactory(), TenantFactory()
    for who in (tenant, other):
        Budget.objects.create(tenant=who, monthly_limit=Decimal("10.00"), action="stop")
    with at("2027-03-10 08:00"):
        mine = lease_create(actor=None, tenant=tenant, kind="short", card_model=model,
                            card_count=1)  # fmt: skip
        theirs = lease_create(actor=None, tenant=other, kind="short", card_model=model,
                              card_count=1)  # fmt: skip
    locked = threading.Event()
    outcome: dict[str, object] = {}

    def tenant_stops() -> None:
        try:
            with transaction.atomic():
                lease_stop(actor=None, lease=mine, reason="done")
                locked.set()
                time.sleep(1.5)  # the pass reaches the lease meanwhile
        finally:
            locked.set()
            connections.close_all()

    def the_pass() -> None:
        try:
            locked.wait(10)
            outcome["result"] = spend_evaluate()
        except Exception as exc:
            outcome["error"] = exc
        finally:
            connections.close_all()

    with at("2027-03-10 10:00"):  # ¥25 each: over ¥10
        threads = [threading.Thread(target=tenant_stops), threading.Thread(target=the_pass)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert "error" not in outcome, outcome
    assert outcome["result"].stopped == [theirs.pk]
    assert Lease.objects.get(pk=mine.pk).events.order_by("id").last().reason == "done"
    assert Lease.objects.get(pk=theirs.pk).status == "ended"
    assert Event.objects.filter(type="spend_limit.reached").count() == 2


def test_two_passes_at_once_send_each_notice_once():
    """The beat's pass and a lease creation's run together: one waits for the other, then
    finds the notices sent and the lease stopped."""
    model = CardModelFactory(hourly_rate=Decimal("12.5000"), monthly_rate=Decimal("3900.0000"))
    make_server_with_cards(RackFactory(), model)
    tenant = TenantFactory()
    Budget.objects.create(tenant=tenant, monthly_limit=Decimal("10.00"), action="stop")
    with at("2027-03-10 08:00"):
        lease = lease_create(actor=None, tenant=tenant, kind="short", card_model=model,
                             card_count=1)  # fmt: skip
    with at("2027-03-10 10:00"):
        results = run_concurrently(
            2, lambda index: spend_evaluate(tenant_id=tenant.pk if index else None)
        )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.notices for r in results) == [0, 3]  # 50 %, 80 % and reached, once
    assert sorted(r.stopped for r in results) == [[], [lease.pk]]
    assert Event.objects.filter(type__startswith="spend_limit.").count() == 3
