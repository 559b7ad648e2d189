"""Redis stopped, PostgreSQL restarted, under the real gunicorn (2 workers, persistent connections
with health checks) and a real celery worker: 503s in the error body, no 500, no hang, and back
to normal when the server is back, without restarting anything of ours."""

import datetime as dt
import json
import threading
import time
from collections import Counter

import pytest

from tests.faults.stack import Answer, FaultStack, gunicorn, http, wait_until, worker

pytestmark = pytest.mark.slow

# A liveness bound, not a performance assertion: an answer came, the request did not hang.
ANSWERS_WITHIN = 10


def _unavailable(answer: Answer) -> bool:
    if answer.status != 503:
        return False
    error = json.loads(answer.body)["error"]
    return error["code"] == "service_unavailable" and int(answer.headers["Retry-After"]) > 0


def test_with_redis_stopped_reads_work_and_queued_writes_are_503_until_it_is_back(
    fault_stack: FaultStack,
) -> None:
    stack = fault_stack
    db = stack.new_database()
    tenant, finance = stack.tokens["tenant1"], stack.tokens["finance"]
    run_month = json.dumps({"month": time.strftime("%Y-%m")}).encode()
    today = dt.date.today()
    days = f"?from={today - dt.timedelta(days=40)}&to={today - dt.timedelta(days=1)}"
    reads = [
        (tenant, "/api/v1/me/"),
        (tenant, "/api/v1/leases/"),
        (tenant, "/api/v1/invoices/"),
        (finance, "/api/v1/invoice-runs/"),
        (finance, "/api/v1/reports/occupancy/" + days + "&group_by=site"),
        (finance, "/api/v1/reports/revenue/" + days + "&group_by=tenant"),
    ]
    with stack.connect(db) as conn:
        (before,) = conn.execute("SELECT coalesce(max(id), 0) FROM billing_invoicerun").fetchone()
    with gunicorn(stack, db, 3, "web-redis") as base:
        for token, path in reads:
            assert http("GET", base + path, token).status == 200, path
        stack.redis.stop()
        try:
            for token, path in reads:
                answer = http("GET", base + path, token, timeout=ANSWERS_WITHIN)
                assert answer.status == 200, (path, answer.body)
            answer = http(
                "POST", base + "/api/v1/invoice-runs/?async=true", finance, run_month,
                timeout=ANSWERS_WITHIN,
            )  # fmt: skip
            assert _unavailable(answer), answer
        finally:
            stack.redis.start()
        answer = http("POST", base + "/api/v1/invoice-runs/?async=true", finance, run_month)
        assert answer.status == 202, answer
    with stack.connect(db) as conn:  # the refused run left nothing; the accepted one is queued
        assert conn.execute(
            "SELECT status FROM billing_invoicerun WHERE id > %s", [before]
        ).fetchall() == [("running",)]


class Traffic(threading.Thread):
    """GET /me/ in a loop; every answer's status (0: no answer within the bound)."""

    def __init__(self, base: str, token: str) -> None:
        super().__init__(daemon=True)
        self.base, self.token = base, token
        self.statuses: list[int] = []
        self.bodies: list[bytes] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                answer = http("GET", self.base + "/api/v1/me/", self.token, timeout=ANSWERS_WITHIN)
            except OSError:
                self.statuses.append(0)
                continue
            self.statuses.append(answer.status)
            if answer.status == 503:
                self.bodies.append(answer.body)
            time.sleep(0.02)

    def count_since(self, start: int, status: int) -> int:
        return sum(1 for s in self.statuses[start:] if s == status)


def test_postgres_restarted_mid_traffic_gives_503s_then_recovers_without_a_restart(
    fault_stack: FaultStack,
) -> None:
    stack = fault_stack
    db = stack.new_database()
    celery = stack.celery(4)
    with gunicorn(stack, db, 4, "web-pg") as base, worker(stack, db, 4, "worker-pg") as work:
        traffic = Traffic(base, stack.tokens["tenant1"])
        traffic.start()
        try:
            wait_until("requests to succeed", lambda: traffic.count_since(0, 200) >= 10)
            down_from = len(traffic.statuses)
            stack.pg.stop(mode="fast")
            try:
                wait_until("503s while PostgreSQL is down", lambda: traffic.count_since(
                    down_from, 503) >= 10)  # fmt: skip
            finally:
                stack.pg.start()
            up_from = len(traffic.statuses)
            wait_until("requests to succeed again", lambda: traffic.count_since(up_from, 200) >= 10)
        finally:
            traffic.stopping.set()
            traffic.join(ANSWERS_WITHIN * 2)
        seen = Counter(traffic.statuses)
        assert set(seen) <= {200, 503}, seen  # never a 500, never a hang (0)
        for body in traffic.bodies:
            assert json.loads(body)["error"]["code"] == "service_unavailable"

        # the worker lived through it and takes the next task
        assert work.popen.poll() is None
        celery.send_task("analytics.nightly_recompute")
        with stack.connect(db) as conn:
            wait_until(
                "the worker to run the nightly after the restart",
                lambda: conn.execute(
                    "SELECT count(*) FROM analytics_recomputerun WHERE status = 'done' "
                    "AND trigger = 'nightly'"
                ).fetchone()[0],
            )
