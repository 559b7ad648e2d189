"""Invoicing in China over the API: billing profiles, fapiao requests, their numbers and the
month's export (docs/api.md §Fapiao)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.tenancy import OwnTenant, TenantInPath
from accounts.models import Tenant
from billing import documents
from billing.api.filters import month_param
from billing.api.serializers import (
    BillingProfileSerializer,
    FapiaoExportQuerySerializer,
    FapiaoQuerySerializer,
    FapiaoRecordSerializer,
    FapiaoRequestSerializer,
)
from billing.services import fapiao
from core.downloads import CSV_DOWNLOAD, JSON_OR_CSV, csv_response, wants_csv
from core.exceptions import NotFound
from core.permissions import roles
from core.roles import Role
from core.serializers import MONTH_PATTERN, ErrorSerializer

FINANCE = (Role.FINANCE,)
TENANT = (Role.TENANT,)

_FAPIAO_FORMAT = OpenApiParameter("format", enum=["json", "csv"], description="GET only")
_PROFILE_RESPONSES = {200: BillingProfileSerializer, 400: ErrorSerializer, 404: ErrorSerializer}


def _no_profile() -> NotFound:
    return NotFound(
        "No billing profile yet: PUT one (invoice title, tax id, fapiao type…).",
        code="no_billing_profile",
    )


class _BillingProfileView(APIView):
    """GET the profile (404 `no_billing_profile` before there is one); PUT creates or replaces
    it whole; PATCH changes some fields of an existing one."""

    def tenant(self, request: Request, **kwargs: Any) -> Tenant:
        raise NotImplementedError

    def _answer(self, request: Request, tenant: Tenant, *, partial: bool) -> Response:
        body = BillingProfileSerializer(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        profile = fapiao.billing_profile_save(
            actor=request.user, tenant=tenant, data=body.validated_data, partial=partial
        )
        return Response(BillingProfileSerializer(profile).data)

    @extend_schema(responses=_PROFILE_RESPONSES)
    def get(self, request: Request, **kwargs: Any) -> Response:
        profile = fapiao.billing_profile_of(self.tenant(request, **kwargs))
        if profile is None:
            raise _no_profile()
        return Response(BillingProfileSerializer(profile).data)

    @extend_schema(request=BillingProfileSerializer, responses=_PROFILE_RESPONSES)
    def put(self, request: Request, **kwargs: Any) -> Response:
        return self._answer(request, self.tenant(request, **kwargs), partial=False)

    @extend_schema(
        request=BillingProfileSerializer,
        responses=_PROFILE_RESPONSES,
    )
    def patch(self, request: Request, **kwargs: Any) -> Response:
        return self._answer(request, self.tenant(request, **kwargs), partial=True)


class MyBillingProfileView(OwnTenant, _BillingProfileView):
    """The signed-in tenant's billing profile (发票抬头), as its fapiao will name it."""

    permission_classes = [roles(read=TENANT, write=TENANT)]
    staff_path = "tenants/{id}/billing-profile/"


class TenantBillingProfileView(TenantInPath, _BillingProfileView):
    """Any tenant's billing profile, for finance."""

    permission_classes = [roles(read=FINANCE, write=FINANCE)]


def _fapiao(
    request: Request,
    document: Any,
    record: Callable[..., Any],
    request_of: Callable[[Any], fapiao.FapiaoRequest],
) -> Response | HttpResponse:
    """The fapiao action of an invoice or a credit note: POST {number, issued_on} records the
    number through `record` (then its request, as JSON), GET answers its request (`request_of`)
    as JSON or CSV."""
    if request.method == "POST":
        body = FapiaoRecordSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        document = record(request.user, document, **body.validated_data)
        return Response(FapiaoRequestSerializer(request_of(document)).data)
    requested = request_of(document)
    return _fapiao_response(request, requested, requested.document_number)


def _fapiao_response(
    request: Request, requested: fapiao.FapiaoRequest, name: str
) -> Response | HttpResponse:
    query = FapiaoQuerySerializer(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    if wants_csv(request, query.validated_data.get("format")):
        return csv_response(documents.fapiao_csv([requested]), f"fapiao-{name}.csv")
    return Response(FapiaoRequestSerializer(requested).data)


_FAPIAO_SCHEMA = extend_schema(
    parameters=[_FAPIAO_FORMAT],
    request=FapiaoRecordSerializer,
    responses={
        200: FapiaoRequestSerializer,
        400: ErrorSerializer,
        409: ErrorSerializer,
    },
)


class InvoiceFapiaoMixin:
    """`invoices/{id}/fapiao/` and `invoices/fapiao-export/` (mixed into InvoiceViewSet)."""

    get_object: Any

    @_FAPIAO_SCHEMA
    @action(detail=True, methods=["get", "post"], renderer_classes=JSON_OR_CSV)
    def fapiao(self, request: Request, pk: str) -> Response | HttpResponse:
        """GET the invoice's fapiao request (issued or paid invoices; JSON, or CSV with
        ?format=csv); POST {number, issued_on} records the number the tax system gave (finance;
        once; from then on the invoice is not voided)."""
        return _fapiao(
            request,
            self.get_object(),
            lambda actor, invoice, **recorded: fapiao.invoice_fapiao_record(
                actor=actor, invoice=invoice, **recorded
            ),
            fapiao.invoice_fapiao_request,
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("month", required=True, description="YYYY-MM", pattern=MONTH_PATTERN)
        ],
        responses={(200, "text/csv"): OpenApiResponse(description="CSV, one row per item")},
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="fapiao-export",
        permission_classes=[roles(read=FINANCE)],
        renderer_classes=CSV_DOWNLOAD,
    )
    def fapiao_export(self, request: Request) -> HttpResponse:
        """The month's fapiao requests still without a number (invoices issued and credit notes
        made in the month, operator time) as CSV, one row per item."""
        query = FapiaoExportQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        month = month_param(query.validated_data["month"])
        return csv_response(
            documents.fapiao_csv(fapiao.fapiao_requests(month)), f"fapiao-{month:%Y-%m}.csv"
        )


class CreditNoteFapiaoMixin:
    """`credit-notes/{id}/fapiao/` (mixed into CreditNoteViewSet)."""

    get_object: Any

    @_FAPIAO_SCHEMA
    @action(detail=True, methods=["get", "post"], renderer_classes=JSON_OR_CSV)
    def fapiao(self, request: Request, pk: str) -> Response | HttpResponse:
        """GET the credit note's red fapiao request (once its invoice's fapiao is recorded);
        POST {number, issued_on} records the red fapiao's number (finance; once)."""
        return _fapiao(
            request,
            self.get_object(),
            lambda actor, note, **recorded: fapiao.credit_note_fapiao_record(
                actor=actor, note=note, **recorded
            ),
            fapiao.credit_note_fapiao_request,
        )
