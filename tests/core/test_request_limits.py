import io
import json

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

HUGE = 150 * 1024 * 1024


class EndlessBody(io.RawIOBase):
    """A request body of `size` bytes that is made as it is read, counting what was read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.read_bytes
        n = left if n is None or n < 0 else min(n, left)
        self.read_bytes += n
        return b" " * n

    def readline(self, size: int | None = -1) -> bytes:
        return self.read(size if size and size > 0 else 65536)


def _post_stream(client: APIClient, path: str, stream: io.RawIOBase, **extra: str):
    return client.generic(
        "POST",
        path,
        b"",
        content_type="application/json",
        **{"wsgi.input": stream, **extra},
    )


def test_a_150_mb_json_body_is_a_413_without_reading_it(tenant_client) -> None:
    body = EndlessBody(HUGE)
    response = _post_stream(tenant_client, "/api/v1/leases/", body, CONTENT_LENGTH=str(HUGE))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert body.read_bytes == 0


def test_an_oversized_body_with_an_idempotency_key_is_a_413_in_the_error_body(
    tenant_client,
) -> None:
    body = EndlessBody(HUGE)
    response = _post_stream(
        tenant_client,
        "/api/v1/leases/",
        body,
        CONTENT_LENGTH=str(HUGE),
        HTTP_IDEMPOTENCY_KEY="big-1",
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "request_too_large"
    assert body.read_bytes == 0


def test_a_real_body_just_over_the_limit_is_a_413(tenant_client, settings) -> None:
    settings.REQUEST_BODY_MAX_BYTES = 1024
    payload = json.dumps({"kind": "long", "pad": "x" * 2000})
    response = tenant_client.post(
        "/api/v1/leases/", payload, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_a_chunked_body_is_read_only_up_to_the_limit(tenant_client) -> None:
    body = EndlessBody(HUGE)
    response = _post_stream(
        tenant_client,
        "/api/v1/leases/",
        body,
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    from django.conf import settings

    assert body.read_bytes <= settings.REQUEST_BODY_MAX_BYTES + 1


def test_a_small_chunked_body_reaches_the_view(admin_client_api, settings) -> None:
    settings.TEST_CLOCK = True
    payload = json.dumps({"now": "2027-02-28T23:30:00+08:00"}).encode()
    response = admin_client_api.generic(
        "POST",
        "/api/v1/test-clock/",
        b"",
        content_type="application/json",
        **{
            "CONTENT_LENGTH": "",
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input_terminated": True,
            "wsgi.input": io.BytesIO(payload),
        },
    )
    assert response.status_code == 200
    assert response.json()["frozen"] is True


def test_a_chunked_body_the_server_cannot_terminate_is_a_411(tenant_client) -> None:
    response = _post_stream(
        tenant_client,
        "/api/v1/leases/",
        EndlessBody(HUGE),
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert response.status_code == 411
    assert response.json()["error"]["code"] == "length_required"


def test_a_query_string_of_more_than_a_thousand_parameters_is_a_400_in_the_error_shape(
    tenant_client,
):
    repeated = "&".join(["status=active"] * 1001)
    response = tenant_client.get(f"/api/v1/leases/?{repeated}")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "too_many_fields",
            "message": "More than 1000 parameters in the query string or form.",
            "fields": {},
        }
    }
    fine = "&".join(["status=active"] * 999)
    assert tenant_client.get(f"/api/v1/leases/?{fine}").status_code == 200
