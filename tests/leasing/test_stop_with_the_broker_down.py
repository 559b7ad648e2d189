import datetime as dt
import time

from tests.leasing.conftest import short_body
from tests.outages import broker_down


def test_a_stop_answers_at_once_when_the_metering_nudge_cannot_be_enqueued(
    tenant_client, model, fleet, frozen_now, django_capture_on_commit_callbacks, caplog
):
    lease = tenant_client.post("/api/v1/leases/", short_body(model), format="json").json()
    frozen_now.shift(dt.timedelta(minutes=30))
    started = time.monotonic()
    with broker_down(), django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = tenant_client.post(f"/api/v1/leases/{lease['id']}/stop/", {}, format="json")
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    assert response.json()["status"] == "ended"
    assert callbacks  # the nudge was attempted, and logged when it failed
    assert "could not enqueue billing.meter_short_lease" in caplog.text
