import datetime as dt

import pytest
import time_machine

from core import clock
from core.tasks import clock_now
from tests.workers import real_worker

pytestmark = pytest.mark.django_db

INSTANT = "2027-02-28T23:30:00+08:00"


def test_the_test_clock_is_404_when_the_setting_is_off(admin_client_api, settings) -> None:
    settings.TEST_CLOCK = False
    assert admin_client_api.get("/api/v1/test-clock/").status_code == 404


def test_only_admins_may_set_the_clock(operator_client, settings) -> None:
    settings.TEST_CLOCK = True
    response = operator_client.post("/api/v1/test-clock/", {"now": INSTANT}, format="json")
    assert response.status_code == 403


def test_setting_the_clock_moves_now_for_the_web_process(admin_client_api, settings) -> None:
    settings.TEST_CLOCK = True
    response = admin_client_api.post("/api/v1/test-clock/", {"now": INSTANT}, format="json")
    assert response.status_code == 200
    expected = dt.datetime.fromisoformat(INSTANT)
    assert clock.now() == expected
    assert clock.local_today() == dt.date(2027, 2, 28)
    body = admin_client_api.get("/api/v1/test-clock/").json()
    assert dt.datetime.fromisoformat(body["now"].replace("Z", "+00:00")) == expected
    assert body["frozen"] is True


def test_a_null_now_returns_the_clock_to_real_time(admin_client_api, settings) -> None:
    settings.TEST_CLOCK = True
    admin_client_api.post("/api/v1/test-clock/", {"now": INSTANT}, format="json")
    admin_client_api.post("/api/v1/test-clock/", {"now": None}, format="json")
    assert abs(clock.now() - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)


def test_a_bad_datetime_is_a_400(admin_client_api, settings) -> None:
    settings.TEST_CLOCK = True
    response = admin_client_api.post("/api/v1/test-clock/", {"now": "yesterday"}, format="json")
    assert response.status_code == 400
    assert "now" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "instant",
    ["9999-12-31T00:00:00Z", "1999-12-31T00:00:00Z", "1970-01-01T00:00:00Z"],
)
def test_a_clock_outside_sensible_instants_is_a_400_and_changes_nothing(
    admin_client_api, settings, instant
) -> None:
    settings.TEST_CLOCK = True
    admin_client_api.post("/api/v1/test-clock/", {"now": INSTANT}, format="json")
    response = admin_client_api.post("/api/v1/test-clock/", {"now": instant}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "out_of_range"
    assert "now" in error["fields"]
    assert clock.now() == dt.datetime.fromisoformat(INSTANT)


def test_the_clock_may_move_a_few_years_ahead_but_not_more(admin_client_api, settings) -> None:
    settings.TEST_CLOCK = True
    real = dt.datetime.now(dt.UTC)
    ahead = (real + dt.timedelta(days=4 * 365)).isoformat()
    assert (
        admin_client_api.post("/api/v1/test-clock/", {"now": ahead}, format="json").status_code
        == 200
    )
    too_far = (real + dt.timedelta(days=6 * 366)).isoformat()
    assert (
        admin_client_api.post("/api/v1/test-clock/", {"now": too_far}, format="json").status_code
        == 400
    )


def test_without_the_test_clock_time_machine_controls_now(settings) -> None:
    settings.TEST_CLOCK = False
    with time_machine.travel(dt.datetime(2028, 2, 29, 12, tzinfo=dt.UTC), tick=False):
        assert clock.now() == dt.datetime(2028, 2, 29, 12, tzinfo=dt.UTC)
        assert clock.local_today() == dt.date(2028, 2, 29)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_celery_task_on_a_real_worker_reads_the_same_test_clock(settings) -> None:
    """The task travels through Redis to a real worker, which reads the shared test clock."""
    settings.TEST_CLOCK = True
    clock.set_test_clock(dt.datetime.fromisoformat(INSTANT))
    with real_worker():
        result = clock_now.apply_async()
        assert result.get(timeout=20) == "2027-02-28T15:30:00+00:00"


def test_the_bounds_are_five_calendar_years_and_stated_in_operator_time(
    admin_client_api, settings
) -> None:
    settings.TEST_CLOCK = True
    with time_machine.travel(dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC), tick=False):
        _, latest = clock.test_clock_bounds()
        assert latest.isoformat() == "2031-11-29T20:00:00+08:00"
        past = {"now": "2031-11-29T20:00:01+08:00"}
        response = admin_client_api.post("/api/v1/test-clock/", past, format="json")
    message = response.json()["error"]["message"]
    assert "2000-01-01T00:00:00+08:00" in message
    assert "2031-11-29T20:00:00+08:00" in message
