"""Domain errors and the one DRF exception handler that renders the error body
(docs/api.md §Errors):

    {"error": {"code": "...", "message": "...", "fields": {...}}}

Services raise `ApplicationError` subclasses (they never import DRF). Database constraint
violations are mapped by constraint name through `register_constraint`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.db import InterfaceError as DbInterfaceError
from django.db import OperationalError as DbOperationalError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A domain rule said no. Carries a stable `code` and an HTTP status."""

    code = "application_error"
    status_code = 400
    default_message = "The request could not be carried out."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        self.fields = fields or {}
        self.extra = extra or {}
        super().__init__(self.message)


class InvalidInput(ApplicationError):
    code = "invalid"
    status_code = 400
    default_message = "Invalid input."


class NotFound(ApplicationError):
    code = "not_found"
    status_code = 404
    default_message = "Not found."


class Forbidden(ApplicationError):
    code = "forbidden"
    status_code = 403
    default_message = "You do not have permission to perform this action."


class Conflict(ApplicationError):
    code = "conflict"
    status_code = 409
    default_message = "The request conflicts with the current state."


class InvalidState(Conflict):
    code = "invalid_state"
    default_message = "The object is not in a state that allows this action."


class NoCapacity(Conflict):
    code = "no_capacity"
    default_message = "Not enough free capacity."


class Duplicate(Conflict):
    code = "duplicate"
    default_message = "This already exists."


class ServiceUnavailable(ApplicationError):
    """A backing service (PostgreSQL, the task queue) is away: try again shortly."""

    code = "service_unavailable"
    status_code = 503
    default_message = "A backing service is unavailable; try again shortly."


class IdempotencyMismatch(ApplicationError):
    code = "idempotency_key_reused"
    status_code = 422
    default_message = "This Idempotency-Key was used with a different request."


class IdempotencyInFlight(Conflict):
    code = "idempotency_key_in_flight"
    default_message = "A request with this Idempotency-Key is still being processed."


# --- Named constraints → errors ----------------------------------------------------------------


@dataclass(frozen=True)
class ConstraintError:
    error: type[ApplicationError]
    message: str
    field: str | None = None
    code: str | None = None


_CONSTRAINTS: dict[str, ConstraintError] = {}


def register_constraint(
    name: str,
    error: type[ApplicationError],
    message: str,
    *,
    field: str | None = None,
    code: str | None = None,
) -> None:
    """Map a named database constraint to the error its violation means for a client."""
    _CONSTRAINTS[name] = ConstraintError(error, message, field, code)


def constraint_name(exc: IntegrityError) -> str | None:
    cause = exc.__cause__
    diag = getattr(cause, "diag", None)
    return getattr(diag, "constraint_name", None)


def error_from_integrity(exc: IntegrityError) -> ApplicationError | None:
    name = constraint_name(exc)
    mapped = _CONSTRAINTS.get(name or "")
    if mapped is None:
        return None
    fields = {mapped.field: [mapped.message]} if mapped.field else None
    return mapped.error(mapped.message, code=mapped.code, fields=fields)


STRING_TOO_LONG = "22001"  # PostgreSQL: string_data_right_truncation


def _sqlstate(exc: Exception) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


# --- Outages ---

DATABASE_DOWN = "The database is unavailable; try again shortly."
RETRY_AFTER_SECONDS = 5


def outage_error(exc: BaseException) -> ServiceUnavailable | None:
    """The 503 a backing-service failure means, or None when `exc` is not one.

    PostgreSQL refusing or dropping connections (psycopg's OperationalError / InterfaceError, as
    Django wraps them) and Redis being unreachable are outages, not bugs: the client may retry.
    """
    import redis  # here: core.exceptions is imported by everything, redis only matters here

    if isinstance(exc, DbOperationalError | DbInterfaceError):
        return ServiceUnavailable(DATABASE_DOWN)
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return ServiceUnavailable("Redis is unavailable; try again shortly.")
    return None


def retry_headers(exc: ApplicationError) -> dict[str, str]:
    """`Retry-After` for an outage (the client may retry shortly), nothing otherwise."""
    return {"Retry-After": str(RETRY_AFTER_SECONDS)} if isinstance(exc, ServiceUnavailable) else {}


# --- Rendering ---


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            return inner if key == "non_field_errors" else f"{key}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def _field_errors(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {key: _plain(value) for key, value in detail.items()}
    return {"non_field_errors": _plain(detail)}


def _plain(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _plain(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_plain(item) for item in detail]
    return str(detail)


def _only_codes(codes: Any, allowed: set[str]) -> bool:
    """True when every error code in a (nested) DRF codes structure is in `allowed`."""
    if isinstance(codes, dict):
        return bool(codes) and all(_only_codes(value, allowed) for value in codes.values())
    if isinstance(codes, list):
        return bool(codes) and all(_only_codes(value, allowed) for value in codes)
    return codes in allowed


_DRF_CODES: dict[type[drf_exceptions.APIException], str] = {
    drf_exceptions.ParseError: "malformed_request",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.PermissionDenied: "forbidden",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "throttled",
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The one exception handler: every error leaves the API in one shape."""
    if isinstance(exc, ProtectedError | RestrictedError):
        # before IntegrityError: Django's ProtectedError and RestrictedError subclass it
        exc = Conflict(
            "It is still referenced by other objects and cannot be deleted.", code="in_use"
        )
    if isinstance(exc, DataError) and _sqlstate(exc) == STRING_TOO_LONG:
        # a text longer than its column: every input declares its limit, this is the backstop
        exc = InvalidInput("A text is longer than its field allows.")
    if isinstance(exc, IntegrityError):
        mapped = error_from_integrity(exc)
        if mapped is None:
            logger.exception("unmapped integrity error")
            return None  # a bug: let it be a 500
        exc = mapped
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else None
        message = "; ".join(exc.messages)
        exc = InvalidInput(message, fields=fields)
    if isinstance(exc, Http404):
        exc = NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = Forbidden()
    outage = outage_error(exc)
    if outage is not None:
        logger.warning("backing service unavailable: %r", exc)
        exc = outage

    if isinstance(exc, ApplicationError):
        set_rollback()
        body = error_body(exc.code, exc.message, exc.fields)
        body["error"].update(exc.extra)
        return Response(body, status=exc.status_code, headers=retry_headers(exc))

    if isinstance(exc, drf_exceptions.APIException):
        set_rollback()
        headers: dict[str, str] = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
        if isinstance(exc, drf_exceptions.ValidationError):
            fields = _field_errors(exc.detail)
            if _only_codes(exc.get_codes(), {"unique", "unique_together"}):
                body = error_body("duplicate", _first_message(exc.detail), fields)
                return Response(body, status=status.HTTP_409_CONFLICT, headers=headers)
            body = error_body("invalid", _first_message(exc.detail), fields)
            return Response(body, status=status.HTTP_400_BAD_REQUEST, headers=headers)
        code = _DRF_CODES.get(type(exc), str(exc.default_code))
        return Response(
            error_body(code, _first_message(exc.detail)), status=exc.status_code, headers=headers
        )
    return None
