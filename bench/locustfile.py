"""The users of the mixed-load benchmark (bench/load.py), for locust.

Not run on its own: bench/load.py starts `locust --headless -f bench/locustfile.py` with
LOAD_CONFIG naming a JSON file of tokens and ids (`Config` below) and LOAD_OUT the file where the
run's every request (kind, status, milliseconds) is written when locust quits.

Every request has a kind (locust's `name`); an answer outside the kind's expected statuses is a
locust failure, and bench/load.py fails the benchmark on any.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
from collections import defaultdict
from typing import Any

from locust import HttpUser, between, events, task

CONFIG: dict[str, Any] = json.loads(open(os.environ["LOAD_CONFIG"]).read())  # noqa: SIM115
USAGE_BATCH = 100

# Expected statuses by kind (bench/load.py's EXPECTED; 200 for the others).
EXPECTED: dict[str, set[int]] = defaultdict(
    lambda: {200}, {kind: set(statuses) for kind, statuses in CONFIG["expected"].items()}
)

# kind -> [(status, ms)], written to LOAD_OUT when locust quits
SAMPLES: dict[str, list[tuple[int, float]]] = defaultdict(list)
_ids = itertools.count()


@events.request.add_listener
def _record(
    name: str, response_time: float, response: Any = None, exception: Any = None, **_: Any
) -> None:
    status = getattr(response, "status_code", None) if response is not None else None
    SAMPLES[name].append((int(status or 0), float(response_time)))


@events.quitting.add_listener
def _write(**_: Any) -> None:
    with open(os.environ["LOAD_OUT"], "w") as out:
        json.dump(SAMPLES, out)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _ApiUser(HttpUser):
    abstract = True
    wait_time = between(0.0, 0.1)
    role = ""

    def on_start(self) -> None:
        tokens: list[str] = CONFIG["tokens"][self.role]
        self.token = tokens[next(_ids) % len(tokens)]
        self.client.headers.update(
            {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        )
        self.rng = random.Random(next(_ids))

    def call(
        self, method: str, path: str, request_kind: str, *, body: Any = None, params: Any = None
    ) -> Any:
        """One request of `request_kind`; a failure unless its status is one that kind expects."""
        with self.client.request(
            method, path, name=request_kind, json=body, params=params, catch_response=True
        ) as response:
            if response.status_code not in EXPECTED[request_kind]:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return None
            response.success()
            return response


class TenantReader(_ApiUser):
    """A tenant of the generated fleet looking at its leases, invoices and usage; availability."""

    role = "reader"
    fixed_count = CONFIG["users"]["reader"]

    @task(3)
    def leases(self) -> None:
        self.call("GET", "/api/v1/leases/", "tenant leases")

    @task(1)
    def invoices(self) -> None:
        self.call("GET", "/api/v1/invoices/", "tenant invoices")

    @task(2)
    def usage(self) -> None:
        self.call("GET", "/api/v1/usage-records/", "tenant usage-records")

    @task(2)
    def me(self) -> None:
        self.call("GET", "/api/v1/me/", "me")

    @task(2)
    def availability(self) -> None:
        start = dt.datetime.now(dt.UTC) + dt.timedelta(hours=self.rng.randrange(1, 24 * 28))
        params = {
            "card_model": self.rng.choice(CONFIG["card_models"]),
            "count": self.rng.choice((1, 8, 32)),
            "start": _iso(start),
            "end": _iso(start + dt.timedelta(days=self.rng.choice((1, 7, 30)))),
        }
        self.call("GET", "/api/v1/availability/", "availability", params=params)


class TenantWriter(_ApiUser):
    """A bench tenant taking a short lease of 1-4 cards now and stopping it again."""

    role = "writer"
    fixed_count = CONFIG["users"]["writer"]

    @task
    def lease_and_stop(self) -> None:
        start = dt.datetime.now(dt.UTC)
        body = {
            "kind": "short",
            "card_model": self.rng.choice(CONFIG["card_models"]),
            "card_count": self.rng.randint(1, 4),
            "end": _iso(start + dt.timedelta(hours=self.rng.randint(1, 6))),
        }
        response = self.call("POST", "/api/v1/leases/", "lease create", body=body)
        if response is not None and response.status_code == 201:
            lease = response.json()["id"]
            self.call("POST", f"/api/v1/leases/{lease}/stop/", "lease stop", body={})


class Meter(_ApiUser):
    """The operator's meter posting usage of running long leases, 100 records a batch."""

    role = "operator"
    fixed_count = CONFIG["users"]["meter"]

    @task
    def usage_batch(self) -> None:
        batch = next(_ids)
        now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        leases: list[int] = CONFIG["usage_leases"]
        records = []
        for i in range(USAGE_BATCH):
            start = now - dt.timedelta(hours=1 + self.rng.randrange(600))
            records.append(
                {
                    "source": CONFIG["usage_source"],
                    "external_id": f"{batch}-{i}",
                    "lease": self.rng.choice(leases),
                    "metric": "storage_tb_hours",
                    "quantity": "1.25",
                    "start": start.isoformat(),
                    "end": (start + dt.timedelta(hours=1)).isoformat(),
                }
            )
        self.call("POST", "/api/v1/usage-records/", "usage batch (100)", body={"records": records})


class OperatorReports(_ApiUser):
    """An operator reading last month's occupancy by site."""

    role = "operator"
    fixed_count = CONFIG["users"]["reports"]

    @task
    def occupancy(self) -> None:
        params = {**CONFIG["report_range"], "group_by": "site", "granularity": "month"}
        self.call("GET", "/api/v1/reports/occupancy/", "report occupancy site/month", params=params)


if CONFIG["users"].get("heavy"):  # only in load_heavy: locust runs every user class it finds

    class HeavyReports(_ApiUser):
        """An operator asking for a large report: the last 90 days per rack by day (~31,000
        rows at 10,000 cards), one after another (`load_heavy` only)."""

        role = "operator"
        fixed_count = CONFIG["users"]["heavy"]

        @task
        def occupancy(self) -> None:
            params = {**CONFIG["heavy_range"], "group_by": "rack", "granularity": "day"}
            kind = "HEAVY report rack/day 90d"
            self.call("GET", "/api/v1/reports/occupancy/", kind, params=params)


class Finance(_ApiUser):
    """Finance listing every tenant's invoices."""

    role = "finance"
    fixed_count = CONFIG["users"]["finance"]

    @task
    def invoices(self) -> None:
        self.call("GET", "/api/v1/invoices/", "finance invoices")
