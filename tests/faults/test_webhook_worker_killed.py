"""A webhook delivery whose worker is SIGKILLed mid-POST is not lost: the outbox row stays
pending under the dead worker's claim, and once the claim runs out the sweep (beat's, every few
seconds; sent here as beat would) hands it to the next worker, which delivers it. At least once:
the receiver may see the `webhook-id` of the killed attempt too, and dedupes by it.

"Mid-POST" is made certain, not timed: the receiver holds the first request open until the test
has killed the worker.
"""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.faults.stack import FaultStack, wait_until, worker

pytestmark = pytest.mark.slow

PRIVATE = {"WEBHOOK_ALLOW_PRIVATE": "true"}  # the receiver is plain http on 127.0.0.1


class Receiver:
    """Holds the first POST open until `release`; answers 204 to the others."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.answered: list[str] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                webhook_id = self.headers.get("webhook-id", "")
                receiver.started.append(webhook_id)
                if len(receiver.started) == 1:
                    receiver.release.wait(120)
                    return  # the worker that sent it is dead: nobody reads an answer
                receiver.answered.append(webhook_id)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"


def test_a_worker_killed_mid_post_loses_no_delivery(fault_stack: FaultStack) -> None:
    stack = fault_stack
    db = stack.new_database()
    receiver = Receiver()
    env = stack.env(db, 2, **PRIVATE)
    stack.manage(
        db, "shell", "-c",
        "from events.services import endpoint_create\n"
        f"endpoint_create(actor=None, tenant=None, url={receiver.url!r}, description='faults')\n",
        env=env,
    )  # fmt: skip
    record = (
        "from django.db import transaction\n"
        "from events.services import events_record\n"
        "with transaction.atomic():\n"
        "    events_record([('lease.created', None, {'id': 1, 'faults': True})])\n"
    )
    try:
        with stack.connect(db) as watch:
            with worker(stack, db, 2, "webhooks-a", **PRIVATE) as first:
                stack.manage(db, "shell", "-c", record, env=env)  # committed: handed over
                wait_until("the first POST to reach the receiver", lambda: receiver.started)
                first.kill()  # SIGKILL, mid-POST: no answer read, nothing recorded
            (event_id,) = watch.execute(
                "SELECT id FROM events_event WHERE data->>'faults' = 'true'"
            ).fetchone()
            assert receiver.started == [str(event_id)]
            status, attempts, claimed = watch.execute(
                "SELECT status, attempts, claimed_until IS NOT NULL FROM events_delivery "
                "WHERE event_id = %s",
                [event_id],
            ).fetchone()
            assert (status, attempts, claimed) == ("pending", 0, True)  # what the dead left
            receiver.release.set()

            celery = stack.celery(2)
            with worker(stack, db, 2, "webhooks-b", **PRIVATE):

                def delivered() -> bool:
                    celery.send_task("events.sweep_deliveries")  # as beat does, every 5 s
                    time.sleep(2)
                    row = watch.execute(
                        "SELECT status FROM events_delivery WHERE event_id = %s", [event_id]
                    ).fetchone()
                    return row is not None and row[0] == "delivered"

                wait_until("the sweep to deliver after the claim ran out", delivered, 150)
            attempts, logged = watch.execute(
                "SELECT d.attempts, count(a.id) FROM events_delivery d "
                "LEFT JOIN events_deliveryattempt a ON a.delivery_id = d.id "
                "WHERE d.event_id = %s GROUP BY d.id",
                [event_id],
            ).fetchone()
            assert (attempts, logged) == (1, 1)  # the killed attempt was never recorded
            assert receiver.answered == [str(event_id)]  # delivered once; the id dedupes
    finally:
        receiver.release.set()
        receiver.server.shutdown()
