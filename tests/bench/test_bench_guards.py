"""The benchmarks measure what they claim: valid requests, and a failed one fails the run."""

import datetime as dt

from django.utils import timezone

from bench.availability import VARIANTS, make_queries
from bench.run import request_failures
from leasing.terms import short_lease_window


def test_availability_queries_all_lie_inside_the_short_lease_window() -> None:
    now = timezone.now()
    for variant in VARIANTS:
        for params in make_queries(variant, models=[1, 2], sites=[7], total=500, seed=42):
            start = dt.datetime.fromisoformat(params["start"])
            end = dt.datetime.fromisoformat(params["end"])
            # Raises InvalidInput (a 400 from the API) for a window the service refuses.
            short_lease_window(start, end, now)


def test_failed_requests_in_rows_or_at_the_top_fail_a_benchmark() -> None:
    assert request_failures({"rows": [{"failures": 0}, {"failures": 0}]}) == 0
    assert request_failures({"rows": [{"p95_ms": 3.0}]}) == 0
    assert request_failures({"rows": [{"failures": 0}, {"failures": 465}]}) == 465
    assert request_failures({"rows": [], "failures": 2}) == 2


def test_a_load_answer_outside_its_kinds_expected_statuses_is_a_failure() -> None:
    from bench.load import _row

    assert _row("lease create", [[201, 5.0], [409, 6.0]], 1.0)["failures"] == 0
    assert _row("usage batch (100)", [[201, 5.0], [200, 6.0]], 1.0)["failures"] == 1
    # a refused connection (status 0) and a 5xx are failures
    assert _row("me", [[200, 5.0], [500, 6.0], [0, 1.0]], 1.0)["failures"] == 2
