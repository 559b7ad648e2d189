"""What the API fuzzer (tests/core/test_fuzz.py) found, pinned by plain examples: pagination
parameters, filters by id, months, and the schema saying what the server checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from core import clock
from core.serializers import MonthField
from leasing.services import lease_create
from tests.factories import CardModelFactory, RackFactory, TenantFactory, make_server_with_cards

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query", ["page=0", "page=-1", "page=abc", "page=", "page=last", "page_size=0",
              "page_size=null", "page_size=501", "page_size=1.5"],
)  # fmt: skip
def test_a_page_or_page_size_out_of_range_is_a_400(operator_client, query: str) -> None:
    response = operator_client.get(f"/api/v1/sites/?{query}")
    assert response.status_code == 400, response.content
    name = query.split("=")[0]
    assert list(response.json()["error"]["fields"]) == [name]


def test_a_page_past_the_last_is_a_404_and_page_sizes_in_range_are_kept(operator_client) -> None:
    assert operator_client.get("/api/v1/sites/?page=2").status_code == 404
    response = operator_client.get("/api/v1/sites/?page=1&page_size=500")
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_a_filter_by_an_unknown_id_is_an_empty_list_as_is_another_tenants(
    tenant_client, tenant
) -> None:
    model = CardModelFactory()
    make_server_with_cards(RackFactory(), model, cards=2)
    other = lease_create(
        actor=None, tenant=TenantFactory(), kind="short", card_model=model, card_count=1
    )
    ours = lease_create(actor=None, tenant=tenant, kind="short", card_model=model, card_count=1)
    for query in (f"lease={other.pk}", "lease=999999", "lease=0", "card=999999", "tenant=0"):
        response = tenant_client.get(f"/api/v1/usage-records/?{query}")
        assert response.status_code == 200, (query, response.content)
        assert response.json()["count"] == 0
    for query in ("site=999999", "card_model=999999", "tenant=", "card_model="):
        assert tenant_client.get(f"/api/v1/leases/?{query}").status_code == 200, query
    listed = tenant_client.get(f"/api/v1/leases/?card_model={model.pk}").json()["results"]
    assert [row["id"] for row in listed] == [ours.pk]
    assert tenant_client.get("/api/v1/leases/?card_model=x").status_code == 400


@pytest.mark.parametrize(
    "text", ["٢٠٢٦-01", "+202-01", "0000-01", "0999-12", "2026-1", "2026-13", " 2026-01"]
)
def test_months_are_four_ascii_digits_from_the_year_1000(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        clock.parse_month(text)
    assert clock.parse_month("1000-01") == dt.date(1000, 1, 1)


def test_a_month_renders_with_a_four_digit_year() -> None:
    assert MonthField().to_representation(dt.date(152, 4, 1)) == "0152-04"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_says_what_the_server_checks(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for strict in ("SiteRequest", "PatchedSiteRequest", "UsageBatchRequest", "UsageInRequest",
                   "ModelRateRequest", "LeaseCreateRequest"):  # fmt: skip
        assert components[strict]["additionalProperties"] is False, strict
    assert "additionalProperties" not in components["Site"]  # responses are left alone
    sites = schema["paths"]["/api/v1/sites/"]
    assert sites["get"]["responses"]["404"]["description"] == "A page past the last one."
    assert "415" in sites["post"]["responses"]
    page_size = next(p for p in sites["get"]["parameters"] if p["name"] == "page_size")
    assert page_size["schema"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
    leases = {p["name"]: p for p in schema["paths"]["/api/v1/leases/"]["get"]["parameters"]}
    assert leases["tenant"]["allowEmptyValue"] is True
    assert "allowEmptyValue" not in leases["status"]  # a multiple choice: "" is not a choice
    assert leases["active_at"]["schema"]["format"] == "date-time"
    assert leases["search"]["schema"]["pattern"] == r"^[^\x00]*$"  # DRF refuses NUL: a 400
    assert list(sites["post"]["requestBody"]["content"]) == ["application/json"]
    events = schema["paths"]["/api/v1/leases/{id}/events/"]["get"]["parameters"]
    assert {p["name"] for p in events} == {"id", "page", "page_size"}


def test_bodies_are_json_a_form_encoding_is_a_415(operator_client) -> None:
    """Form encodings read an empty field as an omitted one (`category=` let a PATCH through)."""
    for fmt in ("multipart", None):
        kwargs = {"format": fmt} if fmt else {"content_type": "application/x-www-form-urlencoded"}
        data = {"name": "S", "code": "s1"} if fmt else "name=S&code=s1"
        response = operator_client.post("/api/v1/sites/", data, **kwargs)
        assert response.status_code == 415, response.content
        assert response.json()["error"]["code"] == "unsupported_media_type"
    assert operator_client.post("/api/v1/sites/", {"name": "S", "code": "s1"}).status_code == 201


@pytest.mark.parametrize("offset", ["+21:28", "-23:59", "+15:59"])
def test_an_instant_with_any_valid_offset_is_not_a_500(tenant_client, offset: str) -> None:
    """PostgreSQL takes offsets up to ±15:59: instants go to SQL in UTC."""
    query = {"active_at": f"2027-07-12T02:24:34{offset}"}
    assert tenant_client.get("/api/v1/leases/", query).status_code == 200
    edge = {"active_at": "0001-01-01T00:00:00+05:00"}  # before year 1 in UTC
    assert tenant_client.get("/api/v1/leases/", edge).status_code == 400
