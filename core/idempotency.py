"""`Idempotency-Key` on POSTs that create something (docs/api.md §Idempotency).

The same key and body replay the first (successful) response; the same key with another body is
a 422; a retry while the first is still in flight is a 409. Keys are scoped per tenant (per user
for staff) and kept at least 24 hours.

How: the handler runs inside one transaction that first takes a transaction-level advisory lock
on (scope, key). A second request that cannot take the lock is in flight → 409. The stored
response is written in the same transaction as the handler's own writes, so either both commit
or neither does: a crash never leaves a key that says "done" for work that was rolled back.
Only 2xx responses are stored; a rejected request leaves no key behind and may be retried.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.http.request import RawPostDataException
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from core.exceptions import IdempotencyInFlight, IdempotencyMismatch, InvalidInput
from core.models import IdempotencyKey

HEADER = "Idempotency-Key"
RETENTION = dt.timedelta(hours=48)
MAX_KEY_LENGTH = 255


def idempotency_scope(user: Any) -> str:
    tenant_id = getattr(user, "tenant_id", None)
    return f"tenant:{tenant_id}" if tenant_id else f"user:{user.pk}"


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() if request.method else b"")
    digest.update(b" " + request.path.encode() + b"\n")
    if (request.content_type or "").startswith("multipart/form-data"):
        # the boundary is new on every request: fingerprint the parts, not the bytes
        for name, values in sorted(request.POST.lists()):
            digest.update(json.dumps([name, values]).encode() + b"\n")
        for name, upload in sorted(request.FILES.items()):
            digest.update(json.dumps([name, upload.name, upload.size]).encode() + b"\n")
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
        return digest.hexdigest()
    try:
        body: bytes = request._request.body
    except RawPostDataException:  # the stream was already consumed: use the parsed data
        body = json.dumps(request.data, cls=JSONEncoder, sort_keys=True).encode()
    if "json" in (request.content_type or ""):
        # the same document, however the client spaced or ordered it
        try:
            document = json.loads(body, parse_float=str, parse_int=str)
            body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
        except (ValueError, RecursionError):
            pass  # the handler will answer 400
    digest.update(body)
    return digest.hexdigest()


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a DRF handler (`create`, or a POST action) to honour `Idempotency-Key`."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise InvalidInput(f"{HEADER} is longer than {MAX_KEY_LENGTH} characters.")
        scope = idempotency_scope(request.user)
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))",
                    [f"idempotency:{scope}:{key}"],
                )
                (locked,) = cursor.fetchone()
            if not locked:
                raise IdempotencyInFlight()
            stored = IdempotencyKey.objects.filter(scope=scope, key=key).first()
            if stored is not None:
                if stored.request_fingerprint != fingerprint:
                    raise IdempotencyMismatch()
                return Response(
                    stored.response_body,
                    status=stored.response_status,
                    headers={"Idempotent-Replayed": "true"},
                )
            response = handler(view, request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                body = json.loads(json.dumps(response.data, cls=JSONEncoder))
                IdempotencyKey.objects.create(
                    scope=scope,
                    key=key,
                    request_fingerprint=fingerprint,
                    response_status=response.status_code,
                    response_body=body,
                )
            return response

    return wrapper


def idempotency_keys_purge(*, older_than: dt.timedelta = RETENTION) -> int:
    """Delete keys older than the retention (at least 24 hours, docs/api.md §Idempotency)."""
    # by the wall clock, as `created_at` is: the test clock may be days ahead of it
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
