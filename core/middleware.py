"""Request middleware."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core import clock


class OperatorTimeZoneMiddleware:
    """Requests run in the operator's time zone (setting `OPERATOR_TIME_ZONE`): DRF's datetime
    fields, the `.values()` lists and the admin render datetimes there with its offset
    (`2027-03-15T00:00:00+08:00`), and a datetime given without an offset means operator time.
    Storage stays UTC (the database session's zone is `TIME_ZONE`, not this one), and the
    project's calendar rules name their zone explicitly (`core.clock`), so nothing else
    changes meaning."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.activate(clock.operator_tz())
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
