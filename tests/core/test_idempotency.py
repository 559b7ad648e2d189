import threading

import pytest
from django.db import connection, connections, transaction

from accounts.models import Tenant
from core.models import IdempotencyKey

pytestmark = pytest.mark.django_db


def _post(client, body, key="key-1"):
    return client.post("/api/v1/tenants/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_same_key_and_body_replays_the_first_response(operator_client) -> None:
    first = _post(operator_client, {"name": "Acme"})
    second = _post(operator_client, {"name": "Acme"})
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Tenant.objects.count() == 1


def test_the_same_key_with_another_body_is_a_422(operator_client) -> None:
    _post(operator_client, {"name": "Acme"})
    response = _post(operator_client, {"name": "Other"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Tenant.objects.values_list("name", flat=True)) == ["Acme"]


def test_keys_are_scoped_per_caller(make_user, make_client) -> None:
    a = make_client(make_user("operator"))
    b = make_client(make_user("operator"))
    assert _post(a, {"name": "Acme"}).status_code == 201
    response = _post(b, {"name": "Beta"})
    assert response.status_code == 201
    assert response.json()["name"] == "Beta"


def test_a_rejected_request_stores_no_key_and_can_be_retried(operator_client) -> None:
    assert _post(operator_client, {"name": "Acme", "category": "bogus"}).status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert _post(operator_client, {"name": "Acme", "category": "bogus"}).status_code == 400


def test_without_a_key_every_post_runs(operator_client) -> None:
    operator_client.post("/api/v1/tenants/", {"name": "A"}, format="json")
    operator_client.post("/api/v1/tenants/", {"name": "B"}, format="json")
    assert Tenant.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_retry_while_the_first_is_in_flight_is_a_409(operator_client) -> None:
    """The first request blocks on a table lock held here; its retry must not wait for it."""
    results: dict[str, int] = {}
    first_started = threading.Event()

    def first() -> None:
        try:
            first_started.set()
            results["first"] = _post(operator_client, {"name": "Acme"}).status_code
        finally:
            connections.close_all()

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE accounts_tenant IN EXCLUSIVE MODE")
        thread = threading.Thread(target=first)
        thread.start()
        first_started.wait(5)
        # Wait until the first request holds its advisory lock (it then blocks on our lock).
        for _ in range(100):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                    " WHERE l.locktype = 'advisory' AND d.datname = current_database()"
                )
                if cursor.fetchone()[0]:
                    break
            threading.Event().wait(0.05)

        def retry() -> None:
            try:
                response = _post(operator_client, {"name": "Acme"})
                results["retry"] = response.status_code
                results["retry_code"] = response.json()["error"]["code"]
            finally:
                connections.close_all()

        retry_thread = threading.Thread(target=retry)
        retry_thread.start()
        retry_thread.join(10)
    thread.join(10)
    assert results["retry"] == 409
    assert results["retry_code"] == "idempotency_key_in_flight"
    assert results["first"] == 201
    assert Tenant.objects.count() == 1
    # Once the first has finished, the same request replays.
    replay = _post(operator_client, {"name": "Acme"})
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"


def test_keys_are_kept_48_hours_then_purged(operator_client) -> None:
    import datetime as dt

    import time_machine

    from core.idempotency import idempotency_keys_purge

    start = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        _post(operator_client, {"name": "Acme"})
    with time_machine.travel(start + dt.timedelta(hours=47), tick=False):
        assert idempotency_keys_purge() == 0
        assert _post(operator_client, {"name": "Acme"})["Idempotent-Replayed"] == "true"
    with time_machine.travel(start + dt.timedelta(hours=49), tick=False):
        assert idempotency_keys_purge() == 1
    assert not IdempotencyKey.objects.exists()
