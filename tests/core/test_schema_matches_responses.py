"""The OpenAPI schema says what responses really hold: real responses of the main endpoints
(every list and detail GET, the main POSTs) validate against the schema's response for their
operation and status."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator

from billing.models import Invoice
from tests.billing.conftest import long_lease, usage_record
from tests.factories import CardModelFactory, RackFactory, make_server_with_cards
from tests.timing import at

pytestmark = pytest.mark.django_db


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema: `nullable` becomes a null alternative; objects admit only
    the properties they document (an undocumented field is a mismatch too)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None and "T" in value


FORMATS = jsonschema.FormatChecker(formats=["date"])
FORMATS.checks("date-time")(_is_datetime)


class Contract:
    def __init__(self) -> None:
        schema = SchemaGenerator().get_schema(request=None, public=True)
        self.paths = schema["paths"]
        self.components = _json_schema(schema["components"])
        self.mismatches: list[str] = []
        self.checked: list[tuple[str, str, int]] = []

    def _template(self, path: str) -> str:
        for template in self.paths:
            pattern = "^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$"
            if re.match(pattern, path):
                return template
        raise AssertionError(f"{path} is not in the schema")

    def check(self, response: Any, method: str = "get") -> Any:
        path = response.request["PATH_INFO"]
        template = self._template(path)
        status = response.status_code
        operation = self.paths[template][method]
        documented = operation["responses"].get(str(status))
        self.checked.append((method, template, status))
        if documented is None:
            self.mismatches.append(f"{method.upper()} {template}: {status} is not documented")
            return response.json()
        content = documented.get("content", {}).get("application/json")
        if content is None:
            self.mismatches.append(f"{method.upper()} {template} {status}: no JSON body documented")
            return response.json()
        schema = {**_json_schema(content["schema"]), "components": self.components}
        body = response.json()
        validator = jsonschema.Draft202012Validator(schema, format_checker=FORMATS)
        for error in validator.iter_errors(body):
            where = "/".join(map(str, error.absolute_path))
            self.mismatches.append(
                f"{method.upper()} {template} {status} at {where or '.'}: {error.message[:300]}"
            )
        return body


def _ok(response: Any, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200,)), (
        response.request["PATH_INFO"], response.status_code, response.content[:500],
    )  # fmt: skip
    return response


@pytest.fixture
def world(tenant, tenant_user):
    domestic = CardModelFactory(
        name="Ascend-910B", domestic=True, hourly_rate=Decimal("7.5000"),
        monthly_rate=Decimal("3900.0000"),
    )  # fmt: skip
    rack = RackFactory()
    make_server_with_cards(rack, domestic)
    make_server_with_cards(rack, domestic)
    with at("2027-02-20 10:00"):
        lease = long_lease(tenant, domestic, 4, "2027-03-01")
    return {"model": domestic, "rack": rack, "lease": lease}


def test_responses_match_the_schema(
    world, tenant, tenant_client, operator_client, finance_client, admin_client_api, settings
):
    contract = Contract()
    c = contract.check
    model, lease = world["model"], world["lease"]
    post = {"format": "json"}

    with at("2027-03-10 12:00"):
        short = c(
            _ok(
                tenant_client.post(
                    "/api/v1/leases/",
                    {"kind": "short", "card_model": model.pk, "card_count": 1},
                    **post,
                ),
                201,
            ),
            "post",
        )
        c(_ok(tenant_client.post(f"/api/v1/leases/{short['id']}/stop/", {}, **post)), "post")
        renewal = c(_ok(tenant_client.post(f"/api/v1/leases/{lease.pk}/renew/", {}, **post), 201),
                    "post")  # fmt: skip
    with at("2027-03-11 12:00"):
        c(_ok(tenant_client.post("/api/v1/usage-records/", {"records": [
            usage_record(lease, 1)]}, **post), 201), "post")  # fmt: skip
        c(
            _ok(
                tenant_client.post(
                    "/api/v1/usage-records/",
                    {"records": [usage_record(lease, 2, quantity="-1.5", corrects="r-1")]},
                    **post,
                ),
                201,
            ),
            "post",
        )
        c(_ok(tenant_client.post("/api/v1/usage-records/", {}, **post), 400), "post")
        c(_ok(tenant_client.post("/api/v1/usage-records/", {"records": [
            usage_record(lease, 3, metric="nope")]}, **post), 400), "post")  # fmt: skip
        c(_ok(tenant_client.post(f"/api/v1/leases/{lease.pk}/terminate/",
                                 {"effective": "2027-09-01"}, **post)), "post")  # fmt: skip
    with at("2027-04-01 09:00"):
        programme = c(_ok(finance_client.post("/api/v1/voucher-programs/", {
            "issuer": "City", "name": "Cards 2027", "budget": "50000.00",
            "coverage_rate": "0.2000", "per_tenant_cap": "20000.00", "valid_from": "2027-01-01",
            "valid_to": "2027-12-31", "model_rates": [{"card_model": model.pk, "rate": "0.3000"}],
        }, **post), 201), "post")  # fmt: skip
        grant = c(_ok(finance_client.post("/api/v1/voucher-grants/", {
            "program": programme["id"], "tenant": tenant.pk, "amount": "1000.00"}, **post), 201),
            "post")  # fmt: skip
        run = c(_ok(finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, **post),
                    201), "post")  # fmt: skip
        invoice = Invoice.objects.get(tenant=tenant)
        c(_ok(finance_client.get(f"/api/v1/invoices/{invoice.pk}/")))  # a draft
        c(_ok(finance_client.post(f"/api/v1/invoices/{invoice.pk}/issue/", {}, **post)), "post")
        note = c(_ok(finance_client.post("/api/v1/credit-notes/", {
            "invoice": invoice.pk, "amount": "10.00", "reason": "goodwill",
            "reason_code": "allowance"}, **post), 201),
            "post")  # fmt: skip
        c(_ok(finance_client.post(f"/api/v1/invoices/{invoice.pk}/pay/", {}, **post)), "post")
        recompute = c(
            _ok(
                operator_client.post(
                    "/api/v1/reports/recompute/", {"from": "2027-03-01", "to": "2027-03-31"}, **post
                )
            ),
            "post",
        )
        c(_ok(operator_client.get(f"/api/v1/reports/recompute/{recompute['id']}/")))
        long = {"from": "2027-01-01", "to": "2027-03-31"}  # a worker's (the run stays queued)
        c(_ok(operator_client.post("/api/v1/reports/recompute/", long, **post), 202), "post")
        case = c(
            _ok(
                operator_client.post(
                    "/api/v1/business-cases/",
                    {
                        "site": world["rack"].site_id,
                        "capex": [{"category": "hardware", "amount": "1000"}],
                        "opex": [{"category": "power_water", "amount": "100"}],
                    },
                    **post,
                ),
                201,
            ),
            "post",
        )
        site = c(_ok(operator_client.post("/api/v1/sites/", {
            "name": "Second", "code": "S2"}, **post), 201), "post")  # fmt: skip
        c(_ok(operator_client.post("/api/v1/tenants/", {"name": "Acme"}, **post), 201), "post")

        gets = {
            tenant_client: [
                "/api/v1/me/", "/api/v1/leases/", f"/api/v1/leases/{lease.pk}/",
                f"/api/v1/leases/{lease.pk}/events/", "/api/v1/usage-records/",
                "/api/v1/cards/", "/api/v1/voucher-programs/",
                f"/api/v1/voucher-programs/{programme['id']}/", "/api/v1/voucher-grants/",
                f"/api/v1/voucher-grants/{grant['id']}/", "/api/v1/invoices/",
                f"/api/v1/invoices/{invoice.pk}/", "/api/v1/credit-notes/",
                f"/api/v1/credit-notes/{note['id']}/", f"/api/v1/tenants/{tenant.pk}/",
                "/api/v1/metrics/", "/api/v1/sites/", f"/api/v1/sites/{site['id']}/",
                "/api/v1/card-models/", f"/api/v1/card-models/{model.pk}/",
                f"/api/v1/availability/?card_model={model.pk}&count=2",
                f"/api/v1/availability/?card_model={model.pk}&count=2&term_months=12",
            ],
            operator_client: [
                "/api/v1/me/", "/api/v1/tenants/", "/api/v1/racks/",
                f"/api/v1/racks/{world['rack'].pk}/", "/api/v1/servers/", "/api/v1/cards/",
                f"/api/v1/cards/{lease.allocations.first().card_id}/",
                "/api/v1/inventory/capacity/?group_by=rack", "/api/v1/leases/",
                f"/api/v1/leases/{renewal['id']}/events/",
                "/api/v1/business-cases/", f"/api/v1/business-cases/{case['id']}/",
                *(f"/api/v1/reports/occupancy/?from=2027-03-01&to=2027-03-31&group_by={g}"
                  for g in ("rack", "site", "card_model", "fleet")),
                *(f"/api/v1/reports/revenue/?from=2027-03-01&to=2027-03-31&group_by={g}"
                  "&granularity=month" for g in ("site", "card_model", "lease_kind", "tenant")),
            ],
            finance_client: [
                "/api/v1/invoice-runs/", f"/api/v1/invoice-runs/{run['id']}/",
                "/api/v1/invoices/", f"/api/v1/voucher-programs/{programme['id']}/",
                f"/api/v1/voucher-programs/{programme['id']}/claims/?month=2027-03",
                "/api/v1/usage-records/", "/api/v1/credit-notes/",
            ],
        }  # fmt: skip
        for client, paths in gets.items():
            for path in paths:
                c(_ok(client.get(path)))
        settings.TEST_CLOCK = True
        c(_ok(admin_client_api.get("/api/v1/test-clock/")))
        c(_ok(admin_client_api.get("/api/v1/me/")))

        # error bodies are documented too, with the statuses they come with
        c(_ok(tenant_client.get("/api/v1/leases/999999/"), 404))
        c(_ok(tenant_client.get("/api/v1/leases/", {"status": "foo"}), 400))
        c(_ok(tenant_client.post("/api/v1/leases/", {"kind": "long"}, **post), 400), "post")
        c(_ok(tenant_client.post("/api/v1/invoice-runs/", {"month": "2027-02"}, **post), 403),
          "post")  # fmt: skip
        c(_ok(tenant_client.post(f"/api/v1/leases/{short['id']}/stop/", {}, **post), 409), "post")

    assert not contract.mismatches, "\n".join(contract.mismatches)
    assert len(contract.checked) > 60
