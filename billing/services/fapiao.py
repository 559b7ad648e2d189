"""Invoicing in China (docs/domain.md §Fapiao): billing profiles, fapiao requests and the
numbers the tax system gives.

An invoice of this service is the operator's bill; the tax invoice (发票) is issued by the tax
system from the request prepared here: seller (settings), buyer (the invoice's snapshot), one
item per invoice line with its tax (the invoice's `tax` split over the lines by largest
remainder), totals in figures and in RMB capitals. Finance records the number the tax system
gave; from then on the invoice is corrected by credit notes, each with its own red request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import cn2an
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidLength, ValidationError

from accounts.models import Tenant
from billing import selectors
from billing.choices import FapiaoType, InvoiceStatus
from billing.models import SPECIAL_FAPIAO_FIELDS, BillingProfile, CreditNote, Invoice
from billing.parties import invoice_buyer, invoice_seller
from core import clock
from core.actors import Actor
from core.audit import audit_record, snapshot
from core.exceptions import (
    Duplicate,
    InvalidInput,
    InvalidState,
    NotFound,
    error_from_integrity,
)

CENT = Decimal("0.01")

# --- Billing profiles ---

PROFILE_FIELDS = (
    "invoice_title",
    "tax_id",
    "fapiao_type",
    "bank_name",
    "bank_account",
    "registered_address",
    "registered_phone",
    "email",
)


def uscc_problem(value: str) -> str | None:
    """Why `value` is not a Unified Social Credit Code (None when it is one)."""
    try:
        uscc.validate(value)
    except InvalidLength:
        return "A Unified Social Credit Code has 18 characters."
    except InvalidChecksum:
        return "The check digit (the 18th character) does not match: a typing error?"
    except (InvalidComponent, ValidationError):
        return (
            "Not a Unified Social Credit Code: 8 digits, then 10 digits or capital letters "
            "(no I, O, S, V or Z)."
        )
    return None


def billing_profile_of(tenant: Tenant) -> BillingProfile | None:
    return BillingProfile.objects.filter(tenant=tenant).first()


@transaction.atomic
def billing_profile_save(
    *, actor: Actor, tenant: Tenant, data: dict[str, Any], partial: bool = False
) -> BillingProfile:
    """Create or replace (`partial`: update) the tenant's billing profile. The tax id's check
    digit is validated; a `special` profile needs every field. Nothing is written on a refusal."""
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()  # one writer per tenant
    profile = BillingProfile.objects.filter(tenant=tenant).first()
    if partial and profile is None:
        raise NotFound(
            "This tenant has no billing profile yet: PUT a whole one first.",
            code="no_billing_profile",
        )
    before = snapshot(profile) if profile is not None else None
    values = {name: getattr(profile, name) for name in PROFILE_FIELDS} if partial else {}
    values.update({name: data[name] for name in PROFILE_FIELDS if name in data})
    values["tax_id"] = uscc.compact(values.get("tax_id") or "")
    values.setdefault("fapiao_type", FapiaoType.ORDINARY)
    fields: dict[str, list[str]] = {}
    if not (values.get("invoice_title") or "").strip():
        fields["invoice_title"] = ["Required."]
    problem = uscc_problem(values["tax_id"])
    if problem:
        fields["tax_id"] = [problem]
    if values["fapiao_type"] == FapiaoType.SPECIAL:
        for name in SPECIAL_FAPIAO_FIELDS:
            if not (values.get(name) or "").strip():
                fields[name] = ["Required for a special (专票) fapiao."]
    if fields:
        raise InvalidInput("The billing profile is incomplete or invalid.", fields=fields)
    if profile is None:
        profile = BillingProfile(tenant=tenant)
    for name in PROFILE_FIELDS:
        setattr(profile, name, (values.get(name) or "").strip())
    with _constraints_said():
        profile.save()
    audit_record(
        actor=actor,
        action="billing_profile.save",
        instance=profile,
        before=before,
        after=snapshot(profile),
    )
    return profile


# --- Figures ---


def tax_split(amounts: list[Decimal], rate: Decimal, tax: Decimal) -> list[Decimal]:
    """`tax` over the items of `amounts` by largest remainder: each item's exact tax (amount ×
    rate) floored to the cent, then the cents still missing to `tax` one each to the items with
    the largest remainders (ties: the earlier item). They add up to `tax` to the cent."""
    exact = [amount * rate for amount in amounts]
    floored = [value.quantize(CENT, rounding=ROUND_FLOOR) for value in exact]
    missing = int(((tax - sum(floored, Decimal(0))) / CENT).to_integral_value())
    if not 0 <= missing <= len(amounts):
        raise ValueError(f"a tax of {tax} is not the lines' tax at {rate}")
    order = sorted(range(len(amounts)), key=lambda i: (-(exact[i] - floored[i]), i))
    for index in order[:missing]:
        floored[index] += CENT
    return floored


def amount_in_capitals(amount: Decimal) -> str:
    """An RMB amount in capitals (大写), as a cheque or fapiao writes it: `整` after whole yuan,
    none after 角 or 分, `零` where digits are skipped; `负` before a negative one."""
    return str(cn2an.an2cn(f"{amount.quantize(CENT)}", "rmb"))


# --- Requests ---


@dataclass(frozen=True)
class FapiaoItem:
    line: int | None
    name: str
    specification: str
    tax_code: str
    unit: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal
    tax_rate: Decimal
    tax: Decimal


@dataclass(frozen=True)
class FapiaoRequest:
    """What the tax system needs to issue one fapiao (blue: an invoice; red: a credit note)."""

    kind: str  # blue | red
    document_type: str  # invoice | credit_note
    document_id: int
    document_number: str
    month: dt.date  # when the request arose (operator time): the invoice issued, the note made
    tenant_id: int
    fapiao_type: str
    seller: dict[str, Any]
    buyer: dict[str, Any]
    items: list[FapiaoItem]
    total_amount: Decimal
    total_tax: Decimal
    total_with_tax: Decimal
    fapiao_number: str | None
    fapiao_issued_on: dt.date | None
    original_fapiao_number: str | None = None
    reason_code: str | None = None
    reason: str | None = None

    @property
    def total_with_tax_in_capitals(self) -> str:
        return amount_in_capitals(self.total_with_tax)


def _buyer_fields(buyer: dict[str, Any]) -> dict[str, Any]:
    """The snapshot's buyer with every field a request names (old snapshots lack some)."""
    names = ("tenant_id", "name", "tax_id", "address", *SPECIAL_FAPIAO_FIELDS)
    return {name: buyer.get(name, "") for name in names}


def _invoice_items(invoice: Invoice) -> list[FapiaoItem]:
    lines = sorted(invoice.lines.all(), key=lambda line: line.pk)
    taxes = tax_split([line.amount for line in lines], invoice.tax_rate, invoice.tax)
    return [
        FapiaoItem(
            line=line.pk,
            name=settings.FAPIAO_ITEM_NAME,
            specification=line.description,
            tax_code=settings.FAPIAO_TAX_CODE,
            unit=line.unit,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            tax_rate=invoice.tax_rate,
            tax=tax,
        )
        for line, tax in zip(lines, taxes, strict=True)
    ]


def invoice_fapiao_request(invoice: Invoice) -> FapiaoRequest:
    """The blue request of an issued or paid invoice: its full subtotal and tax (a voucher is a
    payment, not a discount). A draft or void invoice has none (409)."""
    if invoice.status not in {InvoiceStatus.ISSUED, InvoiceStatus.PAID}:
        raise InvalidState(
            f"Only issued or paid invoices have a fapiao request; this one is {invoice.status}."
        )
    buyer = invoice_buyer(invoice)
    assert invoice.number is not None and invoice.issued_at is not None  # issued
    return FapiaoRequest(
        kind="blue",
        document_type="invoice",
        document_id=invoice.pk,
        document_number=invoice.number,
        month=clock.month_first(clock.local_date(invoice.issued_at)),
        tenant_id=invoice.tenant_id,
        fapiao_type=buyer.get("fapiao_type") or FapiaoType.ORDINARY,
        seller=invoice_seller(invoice),
        buyer=_buyer_fields(buyer),
        items=_invoice_items(invoice),
        total_amount=invoice.subtotal,
        total_tax=invoice.tax,
        total_with_tax=invoice.subtotal + invoice.tax,
        fapiao_number=invoice.fapiao_number,
        fapiao_issued_on=invoice.fapiao_issued_on,
    )


def _negated(item: FapiaoItem) -> FapiaoItem:
    return FapiaoItem(
        line=item.line,
        name=item.name,
        specification=item.specification,
        tax_code=item.tax_code,
        unit=item.unit,
        quantity=-item.quantity if item.quantity is not None else None,
        unit_price=item.unit_price,
        amount=-item.amount,
        tax_rate=item.tax_rate,
        tax=-item.tax,
    )


def credit_note_fapiao_request(note: CreditNote) -> FapiaoRequest:
    """The red request of a credit note: negative amounts, naming the invoice's fapiao number
    and the red-letter reason. A credit note of the invoice's whole total with tax reverses
    every item; a smaller one is one item (its amount split into amount before tax and tax at
    the invoice's rate). Refused (409) while the invoice has no fapiao number: there is nothing
    to reverse yet."""
    invoice = note.invoice
    if not invoice.fapiao_number:
        raise InvalidState(
            f"Invoice {invoice.number} has no fapiao number yet: record its fapiao first; "
            "a red fapiao reverses a recorded one.",
            code="no_original_fapiao",
        )
    blue = invoice_fapiao_request(invoice)
    if note.amount == blue.total_with_tax:
        items = [_negated(item) for item in blue.items]
        before_tax = blue.total_amount
    else:
        before_tax = (note.amount / (1 + invoice.tax_rate)).quantize(CENT)
        items = [
            FapiaoItem(
                line=None,
                name=settings.FAPIAO_ITEM_NAME,
                specification=f"{note.number} {note.get_reason_code_display()}",
                tax_code=settings.FAPIAO_TAX_CODE,
                unit="",
                quantity=None,
                unit_price=None,
                amount=-before_tax,
                tax_rate=invoice.tax_rate,
                tax=-(note.amount - before_tax),
            )
        ]
    return FapiaoRequest(
        kind="red",
        document_type="credit_note",
        document_id=note.pk,
        document_number=note.number,
        month=clock.month_first(clock.local_date(note.created_at)),
        tenant_id=invoice.tenant_id,
        fapiao_type=blue.fapiao_type,
        seller=blue.seller,
        buyer=blue.buyer,
        items=items,
        total_amount=-before_tax,
        total_tax=-(note.amount - before_tax),
        total_with_tax=-note.amount,
        fapiao_number=note.fapiao_number,
        fapiao_issued_on=note.fapiao_issued_on,
        original_fapiao_number=invoice.fapiao_number,
        reason_code=note.reason_code,
        reason=note.reason,
    )


# --- Recording the tax system's number ---


@contextmanager
def _constraints_said() -> Iterator[None]:
    """A constraint violation (two requests raced past the checks) as the error it means, so
    the console shows it in words as the API does; the transaction rolls back either way."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        error = error_from_integrity(exc)
        if error is None:
            raise
        raise error from exc


def _number_check(number: str, issued_on: dt.date, *, since: dt.date) -> None:
    if Invoice.objects.filter(fapiao_number=number).exists() or (
        CreditNote.objects.filter(fapiao_number=number).exists()
    ):
        raise Duplicate(
            f"Fapiao {number} is already recorded on another document.",
            fields={"number": ["Already recorded."]},
        )
    if issued_on > clock.local_today():
        raise InvalidInput("issued_on is in the future.", fields={"issued_on": ["After today."]})
    if issued_on < since:
        raise InvalidInput(
            "issued_on is before the document was issued.",
            fields={"issued_on": [f"Before {since:%Y-%m-%d}."]},
        )


@transaction.atomic
def invoice_fapiao_record(
    *, actor: Actor, invoice: Invoice, number: str, issued_on: dt.date
) -> Invoice:
    """Record the number the tax system gave the invoice's fapiao. Once, for an issued or paid
    invoice; from then on the invoice is not voided."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status not in {InvoiceStatus.ISSUED, InvoiceStatus.PAID}:
        raise InvalidState(
            f"Only issued or paid invoices get a fapiao; this one is {invoice.status}."
        )
    if invoice.fapiao_number:
        raise InvalidState(
            f"Fapiao {invoice.fapiao_number} is recorded for this invoice already; a correction "
            "is a credit note.",
            code="fapiao_recorded",
        )
    assert invoice.issued_at is not None
    _number_check(number, issued_on, since=clock.local_date(invoice.issued_at))
    before = snapshot(invoice)
    invoice.fapiao_number = number
    invoice.fapiao_issued_on = issued_on
    with _constraints_said():
        invoice.save(update_fields=["fapiao_number", "fapiao_issued_on", "updated_at"])
    audit_record(
        actor=actor,
        action="invoice.fapiao",
        instance=invoice,
        before=before,
        after=snapshot(invoice),
    )
    return invoice


@transaction.atomic
def credit_note_fapiao_record(
    *, actor: Actor, note: CreditNote, number: str, issued_on: dt.date
) -> CreditNote:
    """Record the number of a credit note's red fapiao. Once; after the invoice's own."""
    note = CreditNote.objects.select_for_update().select_related("invoice").get(pk=note.pk)
    if note.fapiao_number:
        raise InvalidState(
            f"Red fapiao {note.fapiao_number} is recorded for this credit note already.",
            code="fapiao_recorded",
        )
    if not note.invoice.fapiao_number:
        raise InvalidState(
            f"Invoice {note.invoice.number} has no fapiao number yet: record its fapiao first.",
            code="no_original_fapiao",
        )
    _number_check(number, issued_on, since=clock.local_date(note.created_at))
    before = snapshot(note)
    note.fapiao_number = number
    note.fapiao_issued_on = issued_on
    with _constraints_said():
        note.save(update_fields=["fapiao_number", "fapiao_issued_on", "updated_at"])
    audit_record(
        actor=actor, action="credit_note.fapiao", instance=note, before=before, after=snapshot(note)
    )
    return note


# --- The month's requests ---


def fapiao_requests(month: dt.date, *, recorded: bool = False) -> list[FapiaoRequest]:
    """The month's requests (invoices issued and credit notes made in it, operator time) still
    without a number, or (`recorded`) with one: four queries however many."""
    month = clock.month_first(month)
    invoices: QuerySet[Invoice] = selectors.fapiao_invoices(month, recorded=recorded)
    notes: QuerySet[CreditNote] = selectors.fapiao_credit_notes(month, recorded=recorded)
    return [
        *(invoice_fapiao_request(invoice) for invoice in invoices),
        *(credit_note_fapiao_request(note) for note in notes),
    ]
