"""Every operation of the OpenAPI schema, fuzzed by schemathesis: as a tenant and as staff.

The schema is drf-spectacular's own (what `/api/schema/` serves); requests go to the WSGI app in
process. A small, realistic data set (tests.factories and the services) is seeded once for the
module, inside a transaction rolled back at the end; each test rolls back its own writes. Path
ids, id-valued query parameters and id-valued body fields are often drawn from the seeded rows,
so requests reach real objects, not only 404s.

Checks: no 5xx, responses conform to the schema (body, status code, content type), negative data
is rejected and positive data accepted where that is meaningful (see `CHECKS`).

`make test` runs a few examples per operation with a fixed seed and no Hypothesis database;
`make fuzz` runs many more (FUZZ_EXAMPLES, FUZZ_SEED; docs/api.md §Fuzzing).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from django.apps import apps
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, models, transaction
from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from billing.choices import InvoiceStatus
from billing.models import Invoice
from billing.pricebook import ensure_builtin_metrics
from billing.services.invoicing import credit_note_create, invoice_issue, invoice_run
from billing.services.usage import usage_records_ingest
from billing.services.vouchers import voucher_grant_create, voucher_program_create
from core import clock
from core.roles import Role
from events.services import endpoint_create
from leasing.choices import LeaseKind
from leasing.services import lease_create, lease_stop
from tests.factories import (
    CardModelFactory,
    RackFactory,
    SiteFactory,
    TenantFactory,
    UserFactory,
    api_key,
    make_server_with_cards,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("FUZZ_SEED", "20261129"))
# schemathesis' coverage phase (boundary and negative values of every parameter, dozens of
# requests per operation) is `make fuzz`'s: too slow for every `make test`
PHASES = os.environ.get("FUZZ_PHASES", "examples,fuzzing").split(",")

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]


# Reads whose parameters meet rules the schema does not state, answered with a documented 400:
# availability's card model and site must exist and its window must be a valid lease window;
# a report's range runs forwards and covers at most 3 years.
RULES_BEYOND_THE_SCHEMA = {
    "/api/v1/availability/",
    "/api/v1/reports/occupancy/",
    "/api/v1/reports/revenue/",
}


def checks_for(case: Any) -> list[Any]:
    """Every check, except that positive data must be accepted only by reads: a write's body
    meets rules the schema cannot state (a long lease needs `term_months`, a termination takes
    effect after today, staff must name the tenant), each a documented 400 or 409."""
    if case.method.upper() == "GET" and case.operation.path not in RULES_BEYOND_THE_SCHEMA:
        return CHECKS
    return [check for check in CHECKS if check is not positive_data_acceptance]


def _config() -> SchemathesisConfig:
    config = SchemathesisConfig(seed=SEED)
    project = config.projects.default
    project.generation.update(max_examples=EXAMPLES, database="none", deterministic=False)
    project.phases.update(phases=PHASES)
    return config


APP = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APP, config=_config())

# --- the seeded rows path, query and body ids are drawn from -------------------------------------

SEEDED: dict[type[models.Model], list[int]] = {}  # model → its ids, filled by the seed
# query parameters and body fields that name an object by id, and that object's model
ID_FIELDS = {
    "tenant": "accounts.Tenant",
    "site": "marketplace.Site",
    "rack": "marketplace.Rack",
    "server": "marketplace.Server",
    "card": "marketplace.Card",
    "card_model": "marketplace.CardModel",
    "lease": "leasing.Lease",
    "program": "billing.VoucherProgram",
    "invoice": "billing.Invoice",
}


def _path_model(path: str) -> type[models.Model] | None:
    for sample in ("1", "00000000-0000-4000-8000-000000000001"):  # integer ids, or events' uuids
        try:
            match = resolve(path.replace("{id}", sample))
        except Resolver404:
            continue
        break
    else:
        return None
    view = getattr(match.func, "cls", None)
    queryset = getattr(view, "queryset", None)
    return queryset.model if queryset is not None else None


@schema.hook
def flatmap_path_parameters(ctx: Any, path_parameters: dict[str, Any]) -> Any:
    if not isinstance(path_parameters, dict) or "id" not in path_parameters or not ctx.operation:
        return st.just(path_parameters)
    model = _path_model(ctx.operation.path)
    ids = SEEDED.get(model, []) if model is not None else []
    original = path_parameters["id"]
    if not ids or not isinstance(original, int) or isinstance(original, bool):
        return st.just(path_parameters)  # a negative case's id stays as drawn
    real = st.sampled_from(ids).map(lambda pk: {**path_parameters, "id": pk})
    return st.one_of(real, real, st.just(path_parameters))


def _with_real_ids(values: dict[str, Any]) -> Any:
    """`values` with its int id fields sometimes replaced by seeded ids of their model."""
    keys = [
        key
        for key, value in values.items()
        if key in ID_FIELDS and isinstance(value, int) and not isinstance(value, bool)
    ]
    if not keys:
        return st.just(values)
    drawn = {}
    for key in keys:
        ids = SEEDED.get(apps.get_model(ID_FIELDS[key]), [])
        drawn[key] = (
            st.one_of(st.sampled_from(ids), st.just(values[key])) if ids else st.just(values[key])
        )
    return st.fixed_dictionaries(drawn).map(lambda new: {**values, **new})


@schema.hook
def flatmap_query(ctx: Any, query: dict[str, Any] | None) -> Any:
    return _with_real_ids(query) if isinstance(query, dict) else st.just(query)


@schema.hook
def flatmap_body(ctx: Any, body: Any) -> Any:
    return _with_real_ids(body) if isinstance(body, dict) else st.just(body)


def _seed() -> dict[str, Any]:
    """Two tenants with leases past and present, usage, a voucher programme and grant, two months
    of invoices (one issued, credited and paid; one a draft), and the users that fuzz."""
    ensure_builtin_metrics()
    today = clock.local_today()
    this_month = clock.month_first(today)
    first = clock.add_months(this_month, -2).replace(day=10)
    tz = clock.operator_tz()

    def at(day: dt.date, hour: int = 9) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour), tzinfo=tz)

    ours, theirs = TenantFactory(name="Fuzz tenant"), TenantFactory(name="Other tenant")
    domestic = CardModelFactory(name="Ascend-910B", domestic=True)
    imported = CardModelFactory(
        name="H100", vendor="NVIDIA", domestic=False, hourly_rate=Decimal("22.0000"),
        monthly_rate=Decimal("9375.0000"),
    )  # fmt: skip
    for site in (SiteFactory(), SiteFactory()):
        rack = RackFactory(site=site)
        make_server_with_cards(rack, domestic)
        make_server_with_cards(rack, imported)
    with clock.played_at(at(first)):
        long_ = lease_create(
            actor=None, tenant=ours, kind=LeaseKind.LONG, card_model=domestic, card_count=4,
            start=first, term_months=12,
        )  # fmt: skip
        lease_create(
            actor=None, tenant=theirs, kind=LeaseKind.LONG, card_model=imported, card_count=2,
            start=first, term_months=12,
        )  # fmt: skip
    with clock.played_at(at(first + dt.timedelta(days=3))):
        job = lease_create(
            actor=None, tenant=ours, kind=LeaseKind.SHORT, card_model=imported, card_count=1
        )
    with clock.played_at(at(first + dt.timedelta(days=4))):
        lease_stop(actor=None, lease=job, reason="fuzz: the job finished")
    lease_create(actor=None, tenant=ours, kind=LeaseKind.SHORT, card_model=domestic, card_count=1)
    day_start, day_end = clock.day_bounds(first + dt.timedelta(days=1))
    usage_records_ingest(
        records=[
            {
                "source": "fuzz-meter", "external_id": "busy-1", "lease": long_.pk,
                "metric": "card_busy_hours", "quantity": "40", "start": day_start.isoformat(),
                "end": day_end.isoformat(),
            }
        ],
        tenant_id=ours.pk,
    )  # fmt: skip
    programme = voucher_program_create(
        actor=None, issuer="City", name="Fuzz vouchers", budget=Decimal("100000.00"),
        coverage_rate=Decimal("0.2000"), per_tenant_cap=Decimal("20000.00"),
        valid_from=dt.date(first.year, 1, 1), valid_to=dt.date(today.year + 1, 12, 31),
        model_rates=[{"card_model": domestic, "rate": Decimal("0.3000")}],
    )  # fmt: skip
    voucher_grant_create(actor=None, program=programme, tenant=ours, amount=Decimal("5000.00"))
    issued_month = clock.add_months(this_month, -2)
    invoice_run(month=issued_month)
    for invoice in Invoice.objects.filter(month=issued_month, status=InvoiceStatus.DRAFT):
        invoice_issue(actor=None, invoice=invoice)
    credit_note_create(
        actor=None, invoice=Invoice.objects.filter(month=issued_month, tenant=ours).get(),
        amount=Decimal("10.00"), reason="goodwill",
    )  # fmt: skip
    invoice_run(month=clock.add_months(this_month, -1))
    endpoint_create(actor=None, tenant=ours, url="https://hooks.example.com/fuzz")

    for model in {apps.get_model(label) for label in ID_FIELDS.values()} | {
        _path_model(operation.path)
        for operation in (result.ok() for result in schema.get_all_operations())
        if "{id}" in operation.path
    }:
        if model is not None:
            SEEDED[model] = list(model.objects.order_by("pk").values_list("pk", flat=True))
    return {
        "tenant": UserFactory(role=Role.TENANT, tenant=ours),
        "staff": UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True),
    }


@pytest.fixture(scope="module")
def users(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    # As Django's test client does: a request's end must not close the connection that holds
    # the module's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with django_db_blocker.unblock(), transaction.atomic():
            yield _seed()
            transaction.set_rollback(True)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        SEEDED.clear()


@pytest.fixture
def token(request: pytest.FixtureRequest, users: dict[str, User], db: None, settings: Any) -> str:
    settings.TEST_CLOCK = True
    return api_key(users[request.param])


@pytest.mark.parametrize("token", ["tenant", "staff"], indirect=True)
@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_api(case: Any, token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=checks_for(case))


def test_every_operation_is_in_the_schema_fuzzed() -> None:
    """The schema the fuzzer reads is the whole API: every routed operation, none failing to
    load (an operation schemathesis cannot read would be skipped, not fuzzed)."""
    results = list(schema.get_all_operations())
    assert all(result.ok() for result in results)
    assert len(results) == len(SCHEMA_OPERATIONS) > 80


SCHEMA_OPERATIONS = [
    (method, path)
    for path, operations in SchemaGenerator().get_schema(request=None, public=True)["paths"].items()
    for method in operations
]
