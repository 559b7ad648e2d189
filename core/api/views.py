from __future__ import annotations

import logging
import sys
from typing import Any

import redis
from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import clock, console
from core.audit import audit_record
from core.exceptions import NotFound, error_body, outage_error, retry_headers
from core.permissions import IsAdminRole
from core.serializers import StrictSerializer

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when PostgreSQL and Redis answer; 503 naming the failing part otherwise."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["postgres"] = "ok"
    except Exception as exc:  # any failure means "not healthy"
        logger.warning("healthz: postgres failed: %s", exc)
        checks["postgres"] = f"error: {exc.__class__.__name__}"
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1
        )
        client.ping()
        client.close()
        checks["redis"] = "ok"
    except Exception as exc:
        logger.warning("healthz: redis failed: %s", exc)
        checks["redis"] = f"error: {exc.__class__.__name__}"
    failing = sorted(name for name, state in checks.items() if state != "ok")
    body: dict[str, Any] = {"status": "ok" if not failing else "unavailable", "checks": checks}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)


class TestClockSerializer(StrictSerializer):
    now = serializers.DateTimeField(allow_null=True)


class TestClockStateSerializer(serializers.Serializer):
    now = serializers.DateTimeField()
    frozen = serializers.BooleanField()


def _clock_state() -> dict[str, Any]:
    state = {"now": clock.now(), "frozen": clock.test_clock_is_set()}
    return TestClockStateSerializer(state).data


class TestClockView(APIView):
    """Read or set the test clock (admin, only when the TEST_CLOCK setting is on)."""

    permission_classes = [IsAdminRole]
    serializer_class = TestClockSerializer

    def _ensure_enabled(self) -> None:
        if not settings.TEST_CLOCK:
            raise NotFound("The test clock is off.")

    @extend_schema(responses=TestClockStateSerializer)
    def get(self, request: Request) -> Response:
        self._ensure_enabled()
        return Response(_clock_state())

    @extend_schema(request=TestClockSerializer, responses=TestClockStateSerializer)
    def post(self, request: Request) -> Response:
        self._ensure_enabled()
        serializer = TestClockSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        before = clock.now()
        clock.set_test_clock(serializer.validated_data["now"])
        audit_record(
            actor=request.user,
            action="test_clock.set",
            object_type="test_clock",
            before={"now": before.isoformat()},
            after={"now": clock.now().isoformat()},
        )
        return Response(_clock_state())


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Unknown paths answer in the API's error shape too (`handler404`); the console's own
    (under /console/) with the console's 404 page."""
    if console.is_console_path(request):
        return console.not_found(request, exception)
    return JsonResponse(error_body("not_found", "No such path."), status=404)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """`handler400`: what Django refuses before any view runs answers in the error shape too;
    mostly a query string or form of more than DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) fields,
    the bound on repeated parameters (`?status=…&status=…`)."""
    if isinstance(exception, TooManyFieldsSent):
        message = (
            f"More than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} parameters in the query string "
            "or form."
        )
        return JsonResponse(error_body("too_many_fields", message), status=400)
    return JsonResponse(error_body("bad_request", "Bad request."), status=400)


def server_error(request: HttpRequest) -> JsonResponse:
    """`handler500`: the error shape, without details (they are in the log).

    Django calls it while handling the exception: an outage of PostgreSQL or Redis raised
    outside a DRF view (a middleware, the admin) is a 503 here too, not a 500."""
    raised = sys.exc_info()[1]
    outage = outage_error(raised) if raised is not None else None
    if outage is not None:
        body = error_body(outage.code, outage.message)
        return JsonResponse(body, status=outage.status_code, headers=retry_headers(outage))
    return JsonResponse(error_body("server_error", "Internal server error."), status=500)


def login_locked_out(
    request: HttpRequest, response: Any = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """django-axes' answer once a username has failed too often from one address (the
    console's login gets a page saying so)."""
    if console.is_console_path(request):
        return console.locked_out(request)
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    body = error_body(
        "throttled",
        f"Too many failed logins: try again in {minutes} minutes.",
    )
    locked = JsonResponse(body, status=429)
    locked["Retry-After"] = str(minutes * 60)
    return locked
