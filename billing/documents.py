"""Finance documents: the month's invoices as CSV, an invoice as PDF, a claim as CSV."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from billing.choices import CreditReason
from billing.models import CreditNote, Invoice, InvoiceLine
from billing.parties import invoice_buyer, invoice_seller
from billing.services.fapiao import FapiaoRequest
from billing.services.vouchers import Claim, ClaimLease
from core import clock
from core.downloads import csv_text

INVOICE_CSV_COLUMNS = [
    "invoice_number",
    "invoice_id",
    "tenant_id",
    "tenant",
    "tax_id",
    "month",
    "status",
    "currency",
    "subtotal",
    "tax",
    "voucher_deduction",
    "amount_due",
    "preview",
    "amount_paid",
    "balance",
    "line_kind",
    "lease",
    "metric",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "amount",
    "period_start",
    "period_end",
]


def invoices_csv(invoices: Iterable[Invoice]) -> str:
    """One row per invoice line, with the invoice's totals repeated on each row. An issued
    invoice's buyer is the one frozen at issue."""
    return csv_text(INVOICE_CSV_COLUMNS, _invoice_rows(invoices))


def _invoice_rows(invoices: Iterable[Invoice]) -> Iterator[list[Any]]:
    for invoice in invoices:
        buyer = invoice_buyer(invoice)
        head = [
            invoice.number or "",
            invoice.pk,
            invoice.tenant_id,
            buyer["name"],
            buyer["tax_id"],
            f"{invoice.month:%Y-%m}",
            invoice.status,
            invoice.currency,
            invoice.subtotal,
            invoice.tax,
            invoice.voucher_deduction,
            invoice.amount_due,
            # a draft's deduction and amount due are what issuing it now would give
            "true" if getattr(invoice, "preview", False) else "false",
            invoice.amount_paid,
            getattr(invoice, "balance", ""),
        ]
        lines = list(invoice.lines.all())
        if not lines:
            yield [*head, *[""] * 10]
        for line in lines:
            yield [
                *head,
                line.kind,
                line.lease_id or "",
                line.metric.code if line.metric else "",
                line.description,
                line.quantity,
                line.unit,
                line.unit_price,
                line.amount,
                line.period_start,
                line.period_end,
            ]


CLAIM_CSV_COLUMNS = [
    "program", "month", "status", "redemption", "tenant_id", "tenant", "tax_id",
    "invoice_number", "fapiao_number", "leases", "lease_kinds", "lease_terms", "card_models",
    "domestic", "card_hours", "amount", "paid_on", "payment_reference",
]  # fmt: skip
# A redemption covering lines of several leases stays one row: the lease columns list each
# lease in the same order, joined by this.
CLAIM_LIST_SEPARATOR = "; "


def claim_lease_term(lease: ClaimLease) -> str:
    """A lease's term in operator time: `2027-03-01/2028-03-01 (12 months)` for a long lease,
    `2027-03-10 08:00/2027-03-10 12:00` for a short one (`…` while open-ended)."""
    tz = clock.operator_tz()
    if lease.kind == "long":
        end = f"{lease.end.astimezone(tz):%Y-%m-%d}" if lease.end else "…"
        return f"{lease.start.astimezone(tz):%Y-%m-%d}/{end} ({lease.term_months} months)"
    end = f"{lease.end.astimezone(tz):%Y-%m-%d %H:%M}" if lease.end else "…"
    return f"{lease.start.astimezone(tz):%Y-%m-%d %H:%M}/{end}"


def _joined(values: Iterable[Any]) -> str:
    return CLAIM_LIST_SEPARATOR.join(str(value) for value in values)


def claim_csv(claim: Claim) -> str:
    """A claim as the issuer's evidence: one row per redemption (see CLAIM_CSV_COLUMNS), then
    the total."""
    month = f"{claim.month:%Y-%m}"
    rows: list[list[Any]] = [
        [
            claim.program,
            month,
            claim.status,
            row.redemption,
            row.tenant,
            row.tenant_name,
            row.tax_id,
            row.invoice_number,
            row.fapiao_number or "",
            _joined(lease.lease for lease in row.leases),
            _joined(lease.kind for lease in row.leases),
            _joined(claim_lease_term(lease) for lease in row.leases),
            _joined(lease.card_model_name for lease in row.leases),
            _joined("yes" if lease.domestic else "no" for lease in row.leases),
            row.card_hours.normalize() if row.card_hours else "0",
            row.amount,
            row.paid_on or "",
            row.payment_reference,
        ]
        for row in claim.rows
    ]
    total: list[Any] = [claim.program, month, claim.status, *[""] * (len(CLAIM_CSV_COLUMNS) - 3)]
    total[CLAIM_CSV_COLUMNS.index("tenant")] = "TOTAL"
    total[CLAIM_CSV_COLUMNS.index("amount")] = claim.total
    rows.append(total)
    return csv_text(CLAIM_CSV_COLUMNS, rows)


# --- Fapiao requests ---

FAPIAO_CSV_COLUMNS = [
    "kind",
    "document_type",
    "document_number",
    "month",
    "fapiao_type",
    "original_fapiao_number",
    "reason_code",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
    "buyer_address",
    "buyer_phone",
    "buyer_bank_name",
    "buyer_bank_account",
    "buyer_email",
    "item_name",
    "specification",
    "tax_code",
    "unit",
    "quantity",
    "unit_price",
    "amount",
    "tax_rate",
    "tax",
    "total_amount",
    "total_tax",
    "total_with_tax",
    "total_with_tax_in_capitals",
]


def fapiao_csv(requests: Iterable[FapiaoRequest]) -> str:
    """One row per item of each request, the request's parties and totals repeated on each."""
    return csv_text(FAPIAO_CSV_COLUMNS, _fapiao_rows(requests))


def _fapiao_rows(requests: Iterable[FapiaoRequest]) -> Iterator[list[Any]]:
    for request in requests:
        buyer, seller = request.buyer, request.seller
        head = [
            request.kind,
            request.document_type,
            request.document_number,
            f"{request.month:%Y-%m}",
            request.fapiao_type,
            request.original_fapiao_number or "",
            request.reason_code or "",
            seller["name"],
            seller["tax_id"],
            buyer["name"],
            buyer["tax_id"],
            buyer.get("registered_address") or buyer.get("address") or "",
            buyer.get("registered_phone") or "",
            buyer.get("bank_name") or "",
            buyer.get("bank_account") or "",
            buyer.get("email") or "",
        ]
        tail = [
            request.total_amount,
            request.total_tax,
            request.total_with_tax,
            request.total_with_tax_in_capitals,
        ]
        for item in request.items:
            yield [
                *head,
                item.name,
                item.specification,
                item.tax_code,
                item.unit,
                "" if item.quantity is None else item.quantity,
                "" if item.unit_price is None else item.unit_price,
                item.amount,
                item.tax_rate,
                item.tax,
                *tail,
            ]


# --- PDF ---

_FONT = "DocumentSans"


def _font() -> str:
    """The documents' one font, registered on first use: a TrueType font with CJK glyphs
    (settings.PDF_FONT_PATH), embedded as a subset so that a PDF reads the same on any viewer."""
    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(
            TTFont(_FONT, settings.PDF_FONT_PATH, subfontIndex=settings.PDF_FONT_INDEX)
        )
    return _FONT


def _text(value: object) -> str:
    """Stored text as Paragraph text: `&`, `<` and `>` are characters, never markup."""
    return escape(str(value))


def _money(value: Decimal, currency: str) -> str:
    return f"{currency} {value:,.2f}"


def period_text(line: InvoiceLine) -> str:
    """A line's period as a clerk reads it: first day – last day included. Stored periods are
    half-open dates ([period_start, period_end)); printing the exclusive end would read as
    including that day. A short lease that starts or ends inside the period prints its real
    start or end, to the minute (operator-local)."""
    first = line.period_start
    last = max(line.period_end - dt.timedelta(days=1), first)
    start_text, end_text = f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"
    lease = line.lease if line.lease_kind == "short" and line.lease_id else None
    if lease is not None:
        opens, closes = clock.day_start(first), clock.day_start(line.period_end)
        if opens < lease.start < closes:
            start_text = _local_minute(lease.start)
        if lease.end is not None and opens < lease.end < closes:
            end_text = _local_minute(lease.end)
    return f"{start_text} – {end_text}"


def _local_minute(instant: dt.datetime) -> str:
    return f"{instant.astimezone(clock.operator_tz()):%Y-%m-%d %H:%M}"


def invoice_pdf(invoice: Invoice) -> bytes:
    """An invoice a finance clerk would accept: seller, buyer, lines, tax, voucher, amount due."""
    buffer = io.BytesIO()
    font = _font()
    styles = _Styles.of(font)
    story = [
        *_invoice_heading(invoice, styles),
        _invoice_parties(invoice, styles, font),
        Spacer(1, 5 * mm),
        _invoice_table(invoice, styles, font),
        Spacer(1, 5 * mm),
        *_invoice_notes(invoice, styles),
    ]
    _invoice_document(buffer, invoice, font).build(story)
    return buffer.getvalue()


@dataclass(frozen=True)
class _Styles:
    title: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle

    @classmethod
    def of(cls, font: str) -> _Styles:
        return cls(
            title=ParagraphStyle("title", fontName=font, fontSize=16, leading=20),
            body=ParagraphStyle("body", fontName=font, fontSize=9, leading=12),
            small=ParagraphStyle("small", fontName=font, fontSize=8, leading=10),
        )


def _invoice_document(buffer: io.BytesIO, invoice: Invoice, font: str) -> SimpleDocTemplate:
    return SimpleDocTemplate(
        buffer,
        initialFontName=font,  # else the canvas starts in Helvetica, a font that is not embedded
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Invoice {invoice.number or 'draft'}",
    )


def _invoice_heading(invoice: Invoice, styles: _Styles) -> list[Flowable]:
    """Number, status (draft, void), billing month and issue date."""
    status = {"draft": "DRAFT 草稿", "void": "VOID 作废"}.get(invoice.status, "")
    return [
        Paragraph(f"发票 Invoice {_text(invoice.number or '')} {status}", styles.title),
        Spacer(1, 4 * mm),
        *_fapiao_line(invoice.fapiao_number, invoice.fapiao_issued_on, styles),
        Paragraph(
            f"账期 Billing month: {invoice.month:%Y-%m} &nbsp;&nbsp; "
            f"开具日期 Issued: {clock.local_date(invoice.issued_at):%Y-%m-%d}"
            if invoice.issued_at
            else f"账期 Billing month: {invoice.month:%Y-%m}",
            styles.body,
        ),
        *_fapiao_number_line(invoice, styles),
        Spacer(1, 3 * mm),
    ]


def _fapiao_number_line(invoice: Invoice, styles: _Styles) -> list[Flowable]:
    """The tax system's fapiao of the invoice, once finance recorded its number."""
    if not invoice.fapiao_number or invoice.fapiao_issued_on is None:
        return []
    return [
        Paragraph(
            f"发票号码 Fapiao number: {_text(invoice.fapiao_number)} &nbsp;&nbsp; "
            f"开票日期 Fapiao issued: {invoice.fapiao_issued_on:%Y-%m-%d}",
            styles.body,
        )
    ]


def _invoice_parties(invoice: Invoice, styles: _Styles, font: str) -> Table:
    """Seller and buyer side by side: name, tax ID, address."""
    seller, buyer = invoice_seller(invoice), invoice_buyer(invoice)
    body = styles.body
    parties = Table(
        [
            [Paragraph("销售方 Seller", body), Paragraph("购买方 Buyer", body)],
            [Paragraph(_text(seller["name"]), body), Paragraph(_text(buyer["name"]), body)],
            [
                Paragraph(f"纳税人识别号 Tax ID: {_text(seller['tax_id'] or '-')}", body),
                Paragraph(f"纳税人识别号 Tax ID: {_text(buyer['tax_id'] or '-')}", body),
            ],
            [
                Paragraph(_text(seller["address"] or "-"), body),
                Paragraph(_text(buyer["address"] or "-"), body),
            ],
        ],
        colWidths=[90 * mm, 90 * mm],
    )
    parties.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ]
        )
    )
    return parties


def _invoice_totals(invoice: Invoice) -> list[tuple[str, Decimal]]:
    """The totals under the lines: subtotal, VAT, total, voucher deduction, amount due. On a
    draft read with its preview (billing.selectors.invoices_preview_fill) the deduction and
    amount due are marked as what issuing it now would give."""
    vat_percent = (invoice.tax_rate * 100).normalize()
    preview = " (预览 preview: applied at issue)" if getattr(invoice, "preview", False) else ""
    return [
        ("小计 Subtotal", invoice.subtotal),
        (f"增值税 VAT {vat_percent:f}%", invoice.tax),
        ("合计 Total", invoice.subtotal + invoice.tax),
        (
            f"算力券抵扣 Compute-voucher deduction (third-party payment){preview}",
            -invoice.voucher_deduction,
        ),
        (f"应付金额 Amount due{preview}", invoice.amount_due),
    ]


def _invoice_table(invoice: Invoice, styles: _Styles, font: str) -> Table:
    """The lines, one row each, then the totals."""
    small = styles.small
    headings = (
        "项目 Item",
        "期间 Period",
        "数量 Qty",
        "单位 Unit",
        "单价 Unit price",
        "金额 Amount",
    )
    rows: list[list[Any]] = [[Paragraph(h, small) for h in headings]]
    for line in invoice.lines.all():
        rows.append(
            [
                Paragraph(_text(line.description), small),
                Paragraph(period_text(line), small),
                f"{line.quantity.normalize():f}",
                line.unit,
                f"{line.unit_price:,.4f}",
                f"{line.amount:,.2f}",
            ]
        )
    totals = _invoice_totals(invoice)
    for label, value in totals:
        rows.append([Paragraph(label, small), "", "", "", "", _money(value, invoice.currency)])
    table = Table(
        rows, colWidths=[62 * mm, 38 * mm, 18 * mm, 18 * mm, 22 * mm, 27 * mm], repeatRows=1
    )
    first_total = len(rows) - len(totals)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
                ("GRID", (0, 0), (-1, first_total - 1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("SPAN", (0, first_total), (4, first_total)),
                ("SPAN", (0, first_total + 1), (4, first_total + 1)),
                ("SPAN", (0, first_total + 2), (4, first_total + 2)),
                ("SPAN", (0, first_total + 3), (4, first_total + 3)),
                ("SPAN", (0, first_total + 4), (4, first_total + 4)),
                ("LINEABOVE", (0, first_total), (-1, first_total), 0.5, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
            ]
        )
    )
    return table


def _invoice_notes(invoice: Invoice, styles: _Styles) -> list[Flowable]:
    """The voucher note (when vouchers paid part), the currency, and the test-clock mark."""
    small = styles.small
    notes: list[Flowable] = []
    if invoice.redemptions.exists():
        notes.append(
            Paragraph(
                "算力券为第三方支付：增值税按全额小计计算。"
                "Compute vouchers are a third-party payment by the issuing government; "
                "VAT is charged on the full subtotal.",
                small,
            )
        )
    notes.append(
        Paragraph(f"Currency 币种: {invoice.currency}. Amounts rounded half up to the cent.", small)
    )
    if clock.test_clock_is_set():
        notes.append(Paragraph("Generated under a test clock.", small))
    return notes


def _fapiao_line(number: str | None, issued_on: dt.date | None, styles: _Styles) -> list[Flowable]:
    """The tax system's fapiao number (and date), once finance has recorded it."""
    if not number:
        return []
    issued = f" &nbsp;&nbsp; 开票日期 Issued: {issued_on:%Y-%m-%d}" if issued_on else ""
    return [Paragraph(f"发票号码 Fapiao number: {_text(number)}{issued}", styles.body)]


# --- Credit note PDF ---


def credit_note_pdf(note: CreditNote) -> bytes:
    """A credit note (红字) as a PDF, by the same document module as invoices: the parties of
    the invoice it corrects as frozen at that invoice's issue, the invoice's number and fapiao
    number, the red-letter reason, and the amount credited."""
    invoice = note.invoice
    buffer = io.BytesIO()
    font = _font()
    styles = _Styles.of(font)
    story: list[Flowable] = [
        Paragraph(f"红字 Credit note {_text(note.number)}", styles.title),
        Spacer(1, 4 * mm),
        *_fapiao_line(note.fapiao_number, note.fapiao_issued_on, styles),
        Paragraph(f"日期 Date: {clock.local_date(note.created_at):%Y-%m-%d}", styles.body),
        Paragraph(
            f"原发票 Invoice: {_text(invoice.number or '')} &nbsp;&nbsp; "
            f"账期 Billing month: {invoice.month:%Y-%m}",
            styles.body,
        ),
        *(
            [Paragraph(f"原发票号码 Original fapiao: {_text(invoice.fapiao_number)}", styles.body)]
            if invoice.fapiao_number
            else []
        ),
        Spacer(1, 3 * mm),
        _invoice_parties(invoice, styles, font),
        Spacer(1, 5 * mm),
        _credit_table(note, styles, font),
        Spacer(1, 5 * mm),
        Paragraph(f"Currency 币种: {invoice.currency}.", styles.small),
    ]
    if clock.test_clock_is_set():
        story.append(Paragraph("Generated under a test clock.", styles.small))
    SimpleDocTemplate(
        buffer,
        initialFontName=font,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Credit note {note.number}",
    ).build(story)
    return buffer.getvalue()


def _credit_table(note: CreditNote, styles: _Styles, font: str) -> Table:
    """The reason (code and words) and the amount credited, negative as a red-letter note."""
    small = styles.small
    reason = CreditReason(note.reason_code).label
    currency = note.invoice.currency
    rows: list[list[Any]] = [
        [Paragraph("红字原因 Reason", small), Paragraph(_text(f"{reason} — {note.reason}"), small)],
        [
            Paragraph("原发票应付金额 Invoice amount due", small),
            _money(note.invoice.amount_due, currency),
        ],
        [Paragraph("冲红金额 Amount credited", small), _money(-note.amount, currency)],
    ]
    table = Table(rows, colWidths=[70 * mm, 115 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("ALIGN", (1, 1), (1, -1), "RIGHT"),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table
