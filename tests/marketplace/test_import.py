import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from marketplace.models import Card, Rack, Server, Site
from tests.factories import CardModelFactory, RackFactory

pytestmark = pytest.mark.django_db

HEADER = "site,rack,server,position,card_model,serial,capex_cost,commissioned_on\n"


@pytest.fixture
def models():
    return CardModelFactory(name="Ascend-910B"), CardModelFactory(name="H100-SXM-80G")


def _upload(client, text: str | bytes, name: str = "cards.csv"):
    content = text.encode() if isinstance(text, str) else text
    return client.post(
        "/api/v1/inventory/import/",
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
        format="multipart",
    )


GOOD = HEADER + "\n".join(
    [
        "YC1,R01,srv-1,4,Ascend-910B,SN-0001,120000.00,2025-06-01",
        "YC1,R01,srv-1,4,Ascend-910B,SN-0002,120000.00,2025-06-01",
        "YC1,R01,srv-2,8,H100-SXM-80G,SN-0003,240000.50,2025-07-15",
        "CD1,R01,srv-1,4,Ascend-910B,SN-0004,120000,2025-06-01",
    ]
)


def test_a_good_file_creates_what_is_missing(operator_client, models) -> None:
    response = _upload(operator_client, GOOD)
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "rows": 4,
        "sites_created": 2,
        "racks_created": 2,
        "servers_created": 3,
        "cards_created": 4,
        "cards_unchanged": 0,
    }
    card = Card.objects.select_related("server__rack__site", "card_model").get(serial="SN-0003")
    assert card.server.name == "srv-2"
    assert card.server.position == 8
    assert card.server.rack.site.code == "YC1"
    assert card.server.rack.status == "racked"
    assert str(card.capex_cost) == "240000.50"
    assert card.card_model.name == "H100-SXM-80G"


def test_importing_the_same_file_twice_changes_nothing(operator_client, models) -> None:
    _upload(operator_client, GOOD)
    counts = (
        Site.objects.count(),
        Rack.objects.count(),
        Server.objects.count(),
        Card.objects.count(),
    )
    response = _upload(operator_client, GOOD)
    assert response.status_code == 201
    assert response.json()["cards_created"] == 0
    assert response.json()["cards_unchanged"] == 4
    assert counts == (
        Site.objects.count(),
        Rack.objects.count(),
        Server.objects.count(),
        Card.objects.count(),
    )


def test_every_bad_row_is_reported_and_nothing_is_written(operator_client, models) -> None:
    text = HEADER + "\n".join(
        [
            "YC1,R01,srv-1,4,Ascend-910B,SN-1,120000.00,2025-06-01",  # fine
            "YC1,R01,srv-1,4,Nope-9000,SN-2,120000.00,2025-06-01",  # unknown model
            "YC1,R01,srv-1,4,Ascend-910B,SN-3,-5,2025-06-01",  # negative capex
            "YC1,R01,srv-1,4,Ascend-910B,SN-4,abc,2025-13-01",  # capex and date
            "YC1,R01,srv-1,4,Ascend-910B,SN-1,120000.00,2025-06-01",  # repeated serial
            "YC1,R01,srv-9,4,Ascend-910B,SN-5,120000.00,2025-06-01",  # position taken in file
            "YC1,R01,srv-1,0,Ascend-910B,SN-6,120000.00,2025-06-01",  # bad position
        ]
    )
    response = _upload(operator_client, text)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_rows"
    found = {(e["row"], e["field"]) for e in error["errors"]}
    assert found == {
        (3, "card_model"),
        (4, "capex_cost"),
        (5, "capex_cost"),
        (5, "commissioned_on"),
        (6, "serial"),
        (7, "position"),
        (8, "position"),
    }
    assert all(e["reason"] for e in error["errors"])
    assert not Card.objects.exists()
    assert not Site.objects.exists()


def test_conflicts_with_the_database_are_reported(operator_client, models) -> None:
    _upload(operator_client, GOOD)
    decommissioned = RackFactory(
        site=Site.objects.get(code="CD1"), name="R99", status="decommissioned"
    )
    text = HEADER + "\n".join(
        [
            "YC1,R01,srv-1,12,Ascend-910B,SN-0100,1.00,2025-06-01",  # server at another position
            "YC1,R01,srv-new,8,Ascend-910B,SN-0101,1.00,2025-06-01",  # position 8 is srv-2's
            f"CD1,{decommissioned.name},srv-1,1,Ascend-910B,SN-0102,1.00,2025-06-01",
            "CD1,R01,srv-1,4,Ascend-910B,SN-0001,120000.00,2025-06-01",  # serial elsewhere
        ]
    )
    response = _upload(operator_client, text)
    assert response.status_code == 400
    found = {(e["row"], e["field"]) for e in response.json()["error"]["errors"]}
    assert found == {(2, "position"), (3, "position"), (4, "rack"), (5, "serial")}
    assert Card.objects.count() == 4


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (HEADER.encode(), "empty_file"),
        (b"serial,site\nSN-1,YC1\n", "bad_header"),
        (
            "site,rack,server,position,card_model,serial,capex_cost,commissioned_on\nä".encode(
                "latin-1"
            ),
            "bad_encoding",
        ),
        (b"\x00\x01\x02garbage" * 10, "bad_encoding"),
    ],
)
def test_a_bad_file_is_a_clear_400(operator_client, models, content, code) -> None:
    response = _upload(operator_client, content)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not Card.objects.exists()


def test_ten_megabytes_of_garbage_is_refused(operator_client, models, settings) -> None:
    garbage = b"x" * (settings.INVENTORY_IMPORT_MAX_BYTES + 1)
    response = _upload(operator_client, garbage)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "file_too_large"


def test_a_missing_file_is_a_400(operator_client) -> None:
    response = operator_client.post("/api/v1/inventory/import/", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["error"]["fields"]


def test_tenants_cannot_import(tenant_client, models) -> None:
    assert _upload(tenant_client, GOOD).status_code == 403
    assert not Card.objects.exists()


def test_a_bom_and_windows_line_ends_are_fine(operator_client, models) -> None:
    content = ("\ufeff" + GOOD.replace("\n", "\r\n")).encode()
    response = _upload(operator_client, content)
    assert response.status_code == 201, response.json()
    assert response.json()["cards_created"] == 4


def _multipart(client, text: str, boundary: str, key: str):
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="cards.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
        f"{text}\r\n--{boundary}--\r\n"
    ).encode()
    return client.generic(
        "POST",
        "/api/v1/inventory/import/",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_an_import_retried_with_its_key_replays_whatever_the_boundary(operator_client, models):
    first = _multipart(operator_client, GOOD, "curl-boundary-1", "import-1")
    assert first.status_code == 201, first.json()
    retry = _multipart(operator_client, GOOD, "another-boundary-2", "import-1")
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    other = _multipart(operator_client, GOOD.replace("SN-0004", "SN-0005"), "b3", "import-1")
    assert other.status_code == 422
    assert Card.objects.count() == 4


def test_a_site_code_follows_the_same_rule_as_the_api(operator_client, models) -> None:
    response = _upload(
        operator_client, HEADER + "bad code!,R01,srv-1,4,Ascend-910B,SN-1,1.00,2025-06-01"
    )
    assert response.status_code == 400
    assert response.json()["error"]["errors"] == [
        {"row": 2, "field": "site", "reason": "a site code is letters, digits, - and _"}
    ]
    assert not Site.objects.exists()


# --- The same import as a raw `text/csv` body (curl --data-binary @cards.csv) ------------------


def _post_csv(client, text: str | bytes, key: str | None = None, content_type: str = "text/csv"):
    content = text.encode() if isinstance(text, str) else text
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.generic(
        "POST", "/api/v1/inventory/import/", data=content, content_type=content_type, **headers
    )


def test_a_text_csv_body_imports_like_a_multipart_file(operator_client, models) -> None:
    response = _post_csv(operator_client, GOOD, content_type="text/csv; charset=utf-8")
    assert response.status_code == 201, response.json()
    assert response.json()["cards_created"] == 4
    assert _upload(operator_client, GOOD).json()["cards_unchanged"] == 4


def test_a_text_csv_body_with_bad_rows_writes_nothing(operator_client, models) -> None:
    text = GOOD + "\nYC1,R01,srv-1,4,Nope-9000,SN-0009,1.00,2025-06-01"
    response = _post_csv(operator_client, text)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_rows"
    assert response.json()["error"]["errors"][0]["row"] == 6
    assert not Card.objects.exists()
    assert not Site.objects.exists()


@pytest.mark.parametrize(
    ("content", "code"), [(b"", "empty_file"), (b"serial,site\nSN-1,YC1\n", "bad_header")]
)
def test_a_bad_text_csv_body_is_a_clear_400(operator_client, models, content, code) -> None:
    response = _post_csv(operator_client, content)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_an_oversized_text_csv_body_is_refused(operator_client, models, settings) -> None:
    settings.INVENTORY_IMPORT_MAX_BYTES = 1000
    response = _post_csv(operator_client, GOOD + "\n" + "x" * 1000)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "file_too_large"
    assert not Card.objects.exists()


def test_a_text_csv_body_retried_with_its_key_replays(operator_client, models) -> None:
    first = _post_csv(operator_client, GOOD, key="csv-body-1")
    assert first.status_code == 201, first.json()
    retry = _post_csv(operator_client, GOOD, key="csv-body-1")
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    other = _post_csv(operator_client, GOOD.replace("SN-0004", "SN-0005"), key="csv-body-1")
    assert other.status_code == 422
    assert Card.objects.count() == 4


def test_an_unsupported_body_type_names_the_accepted_ones(operator_client, models) -> None:
    response = _post_csv(operator_client, GOOD, content_type="application/json")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert not Card.objects.exists()
