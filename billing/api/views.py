from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing import documents, pricebook
from billing.api import filters
from billing.api.fapiao import CreditNoteFapiaoMixin, InvoiceFapiaoMixin
from billing.api.filters import month_param
from billing.api.serializers import (
    ClaimAdvanceSerializer,
    ClaimQuerySerializer,
    ClaimSerializer,
    CreditNoteSerializer,
    InvoicePaySerializer,
    InvoiceRunCreateSerializer,
    InvoiceRunSerializer,
    InvoiceSerializer,
    InvoiceVoidSerializer,
    MetricSerializer,
    UsageBatchInSerializer,
    UsageBatchRejectedSerializer,
    UsageBatchResultSerializer,
    UsageBatchSerializer,
    UsageRecordSerializer,
    VoucherGrantRevokeSerializer,
    VoucherGrantSerializer,
    VoucherProgramCloseSerializer,
    VoucherProgramSerializer,
)
from billing.choices import RunStatus
from billing.models import (
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceRun,
    Metric,
    UsageRecord,
    VoucherGrant,
    VoucherProgram,
)
from billing.selectors import invoices_preview_fill, with_balances
from billing.services import invoicing, usage, vouchers
from core.downloads import (
    CSV_DOWNLOAD,
    JSON_OR_CSV,
    PDF_DOWNLOAD,
    csv_response,
    pdf_response,
    wants_csv,
)
from core.exceptions import error_body
from core.idempotency import idempotent
from core.permissions import ALL_ROLES, STAFF, roles
from core.roles import Role
from core.serializers import MONTH_PATTERN, StrictSerializer
from core.viewsets import (
    FILTER_BACKENDS,
    AuditedModelViewSet,
    TenantScopedViewSetMixin,
    ValuesReadMixin,
    Writes,
)

FINANCE = (Role.FINANCE,)


class MetricViewSet(AuditedModelViewSet):
    """The price book's metrics. Everyone reads; finance sets prices."""

    queryset = Metric.objects.order_by("id")
    serializer_class = MetricSerializer
    permission_classes = [roles(read=ALL_ROLES, write=FINANCE)]
    http_method_names = ["get", "patch", "head", "options"]
    writes = Writes("metric", update=pricebook.metric_update)


class UsageRecordViewSet(
    TenantScopedViewSetMixin,
    ValuesReadMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The usage ledger. GET lists records (a tenant sees its own); POST takes a batch."""

    queryset = UsageRecord.objects.all()
    serializer_class = UsageRecordSerializer
    permission_classes = [roles(read=ALL_ROLES, write=(Role.TENANT, Role.OPERATOR))]
    filter_backends = FILTER_BACKENDS
    filterset_class = filters.UsageRecordFilter
    ordering = ["id"]
    ordering_fields = ["id", "start"]

    # Lists and details are `.values()` rows (the metric's code joined), represented as
    # UsageRecordSerializer says; the `external_id`s of corrected records come from one more
    # query when the page holds corrections (a self-join for them made PostgreSQL plan the page
    # as a parallel query: 5x slower).
    computed_columns = ("corrects__external_id",)

    def values_columns(self) -> list[str]:
        return [*super().values_columns(), "corrects"]

    def complete_rows(self, rows: list[dict[str, Any]]) -> None:
        corrected = {row["corrects"] for row in rows if row["corrects"] is not None}
        external_ids = dict(
            UsageRecord.objects.filter(pk__in=corrected).values_list("pk", "external_id")
            if corrected
            else ()
        )
        for row in rows:
            row["corrects__external_id"] = external_ids.get(row["corrects"])

    @extend_schema(
        request=UsageBatchSerializer,
        responses={201: UsageBatchResultSerializer, 400: UsageBatchRejectedSerializer},
    )
    @idempotent
    def create(self, request: Request) -> Response:
        """Post up to 10,000 records. Unique per (source, external_id) among the caller's own
        records (a tenant's, or the operator's): a retry adds nothing and reports duplicates.
        The source `platform` is the platform meter's (`reserved_source`). With `atomic`
        (default true) one bad record rejects the batch."""
        batch = UsageBatchInSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        atomic = batch.validated_data["atomic"]
        user: Any = request.user
        result = usage.usage_records_ingest(
            records=batch.validated_data["records"], atomic=atomic, tenant_id=user.tenant_id
        )
        body = {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "errors": result.errors,
        }
        if result.errors and atomic:
            body.update(
                error_body(
                    "invalid_records",
                    f"{len(result.errors)} record(s) rejected; nothing was stored.",
                    {"records": [f"{len(result.errors)} invalid; see errors."]},
                )
            )
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(body, status=status.HTTP_201_CREATED)


class VoucherProgramViewSet(AuditedModelViewSet):
    """Compute-voucher programmes. Finance manages them; everyone may read."""

    queryset = VoucherProgram.objects.prefetch_related("model_rates__card_model", "card_models")
    serializer_class = VoucherProgramSerializer
    permission_classes = [roles(read=ALL_ROLES, write=FINANCE)]
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering = ["id"]
    writes = Writes(
        "program", create=vouchers.voucher_program_create, update=vouchers.voucher_program_update
    )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Edit a programme. Any time until it closes: issuer, name, budget (never below what
        is granted), per-tenant cap (never below a tenant's grants), validity (around its
        grants); `requires_payment` until a claim goes to the issuer; rates, lease kinds, card
        models and term limit until it first redeems. Closed: 409 `program_closed`."""
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(request=VoucherProgramCloseSerializer, responses=VoucherProgramSerializer)
    @action(detail=True, methods=["post"], permission_classes=[roles(write=FINANCE)])
    def close(self, request: Request, pk: str) -> Response:
        """Close the programme: no new grants, nothing more redeemed at issue; its redemptions
        and claims stay. Closed already: 409 `program_closed`."""
        program = self.get_object()
        VoucherProgramCloseSerializer(data=request.data or {}).is_valid(raise_exception=True)
        program = vouchers.voucher_program_close(actor=request.user, program=program)
        return Response(self.get_serializer(self.get_queryset().get(pk=program.pk)).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("month", required=True, description="YYYY-MM", pattern=MONTH_PATTERN),
            OpenApiParameter("format", enum=["json", "csv"]),
        ],
        request=ClaimAdvanceSerializer,
        responses=ClaimSerializer,
    )
    @action(
        detail=True,
        methods=["get", "post"],
        permission_classes=[roles(read=FINANCE, write=FINANCE)],
        renderer_classes=JSON_OR_CSV,
    )
    def claims(self, request: Request, pk: str) -> Response | HttpResponse:
        """GET the month's claim (JSON, or CSV with ?format=csv or Accept: text/csv);
        POST {month, status} moves it draft → submitted → reimbursed."""
        program = self.get_object()
        if request.method == "POST":
            body = ClaimAdvanceSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            claim = vouchers.voucher_claim_advance(
                actor=request.user,
                program=program,
                month=month_param(body.validated_data["month"]),
                status=body.validated_data["status"],
            )
            return Response(ClaimSerializer(claim).data)
        query = ClaimQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        claim = vouchers.voucher_claim_get(
            program=program, month=month_param(query.validated_data["month"])
        )
        if wants_csv(request, query.validated_data.get("format")):
            return csv_response(
                documents.claim_csv(claim), f"claim-{program.pk}-{claim.month:%Y-%m}.csv"
            )
        return Response(ClaimSerializer(claim).data)


class VoucherGrantViewSet(TenantScopedViewSetMixin, AuditedModelViewSet):
    """Grants of vouchers to tenants. Finance grants; a tenant sees its own."""

    queryset = VoucherGrant.objects.select_related("program", "tenant")
    serializer_class = VoucherGrantSerializer
    permission_classes = [roles(read=ALL_ROLES, write=FINANCE)]
    filterset_class = filters.VoucherGrantFilter
    http_method_names = ["get", "post", "head", "options"]
    ordering = ["id"]
    writes = Writes("grant", create=vouchers.voucher_grant_create)

    @extend_schema(request=VoucherGrantRevokeSerializer, responses=VoucherGrantSerializer)
    @action(detail=True, methods=["post"], permission_classes=[roles(write=FINANCE)])
    def revoke(self, request: Request, pk: str) -> Response:
        """Revoke the grant: it redeems nothing more and its unredeemed balance goes back to
        the programme's budget (`released`); its redemptions stay. Revoked already: 409
        `grant_revoked`."""
        grant = self.get_object()
        body = VoucherGrantRevokeSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        grant = vouchers.voucher_grant_revoke(
            actor=request.user, grant=grant, reason=body.validated_data["reason"]
        )
        return Response(self.get_serializer(grant).data)


class InvoiceRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Invoice runs: POST {"month": "YYYY-MM"} creates or refreshes the month's drafts.

    Runs in the request by default (the response says `done`); `?async=true` hands it to a
    Celery worker and answers 202 with `running`.
    """

    queryset = InvoiceRun.objects.all()
    serializer_class = InvoiceRunSerializer
    permission_classes = [roles(read=FINANCE, write=FINANCE)]
    ordering = ["-id"]

    @extend_schema(
        request=InvoiceRunCreateSerializer,
        responses={
            201: InvoiceRunSerializer,
            202: InvoiceRunSerializer,
            500: OpenApiResponse(description="invoice_run_failed: recorded as failed; retry"),
        },
    )
    @idempotent
    def create(self, request: Request) -> Response:
        body = InvoiceRunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        month = month_param(body.validated_data["month"])
        if request.query_params.get("async") == "true":
            run = invoicing.invoice_run_start(month=month, actor=request.user)
            return Response(InvoiceRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
        run = invoicing.invoice_run(month=month, actor=request.user)
        if run.status == RunStatus.FAILED:
            # answered, not raised: raising would roll back the run's record of its failure;
            # an error is never kept for its Idempotency-Key, so a retry runs again
            failure = error_body(
                "invoice_run_failed",
                f"The invoice run for {month:%Y-%m} failed; the drafts of the tenants it had not "
                "finished are as they were "
                f"(run {run.pk}). Try again; if it fails again, the cause is in the server log.",
            )
            failure["error"]["run"] = run.pk
            return Response(failure, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
        return Response(InvoiceRunSerializer(run).data, status=status.HTTP_201_CREATED)


class InvoiceViewSet(
    InvoiceFapiaoMixin,
    TenantScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Invoices: one per tenant per month. Tenants see their own; finance issues, voids, pays."""

    # the profile: a draft's buyer is the tenant's billing profile as it is now
    queryset = Invoice.objects.select_related("tenant", "tenant__billing_profile").prefetch_related(
        Prefetch(
            "lines",
            queryset=InvoiceLine.objects.select_related("metric", "card_model").order_by("id"),
        ),
        "redemptions",
    )
    serializer_class = InvoiceSerializer
    permission_classes = [roles(read=ALL_ROLES, write=FINANCE)]
    filterset_class = filters.InvoiceFilter
    ordering = ["id"]
    ordering_fields = ["id", "month", "number"]

    def safely_get_queryset(self, queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
        if self.action == "pdf":  # the PDF prints a short lease's real start and end
            lines = InvoiceLine.objects.select_related("metric", "card_model", "lease")
            queryset = queryset.prefetch_related(None).prefetch_related(
                Prefetch("lines", queryset=lines.order_by("id")), "redemptions"
            )
        return with_balances(queryset)

    # Drafts read as what issuing them now would give (`preview`), every invoice with its
    # balance: filled per page (a fixed number of queries), per object, per export.

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        if page is not None:
            invoices_preview_fill(page)
        return page

    def get_object(self) -> Invoice:
        invoice = super().get_object()
        if self.action in {"retrieve", "pdf"}:
            invoices_preview_fill([invoice])
        return invoice

    def _respond(self, invoice: Invoice) -> Response:
        invoice = self.get_queryset().get(pk=invoice.pk)
        invoices_preview_fill([invoice])
        return Response(InvoiceSerializer(invoice).data)

    @extend_schema(request=None, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def issue(self, request: Request, pk: str) -> Response:
        StrictSerializer(data=request.data or {}).is_valid(raise_exception=True)  # no body
        return self._respond(invoicing.invoice_issue(actor=request.user, invoice=self.get_object()))

    @extend_schema(request=InvoicePaySerializer, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    @idempotent  # it records a payment: a retried POST with its key never pays twice
    def pay(self, request: Request, pk: str) -> Response:
        """Record a payment `{amount, paid_on, reference}` (amount: default the balance);
        several may settle one invoice, the one bringing the balance to 0 makes it `paid`.
        Above the balance: 400 `over_balance`."""
        body = InvoicePaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invoice = invoicing.invoice_pay(
            actor=request.user,
            invoice=self.get_object(),
            amount=body.validated_data.get("amount"),
            paid_on=body.validated_data.get("paid_on"),
            reference=body.validated_data.get("reference", ""),
        )
        return self._respond(invoice)

    @extend_schema(request=InvoiceVoidSerializer, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def void(self, request: Request, pk: str) -> Response:
        body = InvoiceVoidSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invoice = invoicing.invoice_void(
            actor=request.user, invoice=self.get_object(), reason=body.validated_data["reason"]
        )
        return self._respond(invoice)

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(description="PDF")})
    @action(detail=True, methods=["get"], renderer_classes=PDF_DOWNLOAD)
    def pdf(self, request: Request, pk: str) -> HttpResponse:
        invoice = self.get_object()
        name = invoice.number or f"draft-{invoice.pk}"
        return pdf_response(documents.invoice_pdf(invoice), f"{name}.pdf")

    @extend_schema(
        parameters=[
            OpenApiParameter("month", required=True, description="YYYY-MM", pattern=MONTH_PATTERN)
        ],
        responses={(200, "text/csv"): OpenApiResponse(description="CSV")},
    )
    @action(
        detail=False,
        methods=["get"],
        permission_classes=[roles(read=STAFF)],
        renderer_classes=CSV_DOWNLOAD,
    )
    def export(self, request: Request) -> HttpResponse:
        """The month's invoices and lines as CSV (one row per line)."""
        month = month_param(request.query_params.get("month", ""))
        invoices: QuerySet[Invoice] = (
            self.get_queryset()
            .filter(month=month)
            .select_related("tenant", "tenant__billing_profile")
            .order_by("number", "id")
        )
        listed = list(invoices)
        invoices_preview_fill(listed)  # drafts: what issuing them now would give
        return csv_response(documents.invoices_csv(listed), f"invoices-{month:%Y-%m}.csv")


class CreditNoteViewSet(CreditNoteFapiaoMixin, TenantScopedViewSetMixin, AuditedModelViewSet):
    """Credit notes against issued invoices. Finance creates; a tenant sees its own."""

    queryset = CreditNote.objects.select_related("invoice__tenant")
    serializer_class = CreditNoteSerializer
    permission_classes = [roles(read=ALL_ROLES, write=FINANCE)]
    filterset_class = filters.CreditNoteFilter
    tenant_field = "invoice__tenant"
    http_method_names = ["get", "post", "head", "options"]
    ordering = ["id"]
    writes = Writes("credit_note", create=invoicing.credit_note_create)

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(description="PDF")})
    @action(detail=True, methods=["get"], renderer_classes=PDF_DOWNLOAD)
    def pdf(self, request: Request, pk: str) -> HttpResponse:
        """The credit note as a PDF: the invoice's parties as frozen at its issue, the
        red-letter reason, the amount credited."""
        note = self.get_object()
        return pdf_response(documents.credit_note_pdf(note), f"{note.number}.pdf")
