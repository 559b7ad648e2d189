"""Request middleware.

`NoStoreApiMiddleware` marks every answer under `/api/` `Cache-Control: no-store` (with Django's
never-cache companions): API answers carry tenant and account data, and neither a browser nor a
shared proxy may keep them: lists, errors, exports and PDFs alike.

`OperatorTimeZoneMiddleware` runs requests in the operator's time zone (API datetimes carry its
offset; the console and the admin render times there too).

`ConsoleLocaleMiddleware` picks the console's language; the API always answers in English.

`RequestBodyLimitMiddleware` bounds request bodies before they are read: DRF's JSON parser reads
the whole stream itself, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check, so a 150 MB body would
be held in a worker's memory before any validation. A declared Content-Length over the limit is
refused at once; a chunked body (no Content-Length) is read only up to the limit.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.middleware.locale import LocaleMiddleware
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers

from core import clock
from core.exceptions import error_body

_CHUNK = 64 * 1024


def too_large_response(limit: int) -> JsonResponse:
    body = error_body(
        "request_too_large", f"The request body is larger than the limit of {limit} bytes."
    )
    response = JsonResponse(body, status=413)
    response["Connection"] = "close"  # the unread body must not be taken for the next request
    return response


def _read_capped(stream: io.RawIOBase | io.BufferedIOBase, limit: int) -> bytes | None:
    """Read `stream` to its end, or None as soon as it passes `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            return None


class NoStoreApiMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path_info.startswith("/api/"):
            # replaces any Cache-Control a view set: one rule for the whole API
            if "Cache-Control" in response:
                del response["Cache-Control"]
            add_never_cache_headers(response)
        return response


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit: int = settings.REQUEST_BODY_MAX_BYTES
        meta = request.META
        declared = meta.get("CONTENT_LENGTH")
        if declared:
            try:
                length = int(declared)
            except ValueError:
                return JsonResponse(
                    error_body("malformed_request", "Content-Length is not a number."), status=400
                )
            if length > limit:
                return too_large_response(limit)
        elif "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
            if not meta.get("wsgi.input_terminated"):
                return JsonResponse(
                    error_body("length_required", "Send a Content-Length with the body."),
                    status=411,
                )
            body = _read_capped(meta["wsgi.input"], limit)
            if body is None:
                return too_large_response(limit)
            # from here on the body is what Django and DRF read, with its length known
            meta["CONTENT_LENGTH"] = str(len(body))
            request._stream = LimitedStream(io.BytesIO(body), len(body))  # type: ignore[assignment]
        return self.get_response(request)


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


class ConsoleLocaleMiddleware(LocaleMiddleware):
    """Django's `LocaleMiddleware` (the language chosen with the console's switch, kept in the
    session's cookie, else the browser's Accept-Language) for every page but the API: /api/
    answers in `LANGUAGE_CODE` whatever the client asks, so its messages stay the documented
    ones. No language prefix in URLs."""

    def process_request(self, request: HttpRequest) -> None:
        if request.path_info.startswith("/api/"):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = translation.get_language()
            return
        super().process_request(request)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if request.path_info.startswith("/api/"):
            return response
        return super().process_response(request, response)
