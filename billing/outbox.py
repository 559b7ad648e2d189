"""Billing's events in the outbox (events/): an invoice issued, paid or voided, a credit note
created, a voucher grant running low. Each is recorded by the service that makes the change,
inside its transaction (a rolled-back change emits nothing), its `data` the object as the API
shows it (the same serializer, the same figures: balances and payments included)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from billing.api.serializers import CreditNoteSerializer, InvoiceSerializer, VoucherGrantSerializer
from billing.models import CreditNote, Invoice, VoucherGrant
from billing.selectors import invoices_preview_fill, with_balances
from events.choices import EventType
from events.models import Event
from events.services import as_api_shows, event_record, events_record

# A grant is low once its remaining balance falls below this share of its amount.
LOW_BALANCE_SHARE = Decimal("0.10")


def invoice_event(event_type: EventType, invoice: Invoice) -> None:
    """Record `event_type` for the invoice as `GET invoices/{id}/` shows it after the change."""
    shown = (
        with_balances(Invoice.objects.filter(pk=invoice.pk))
        .select_related("tenant", "tenant__billing_profile")
        .prefetch_related("lines", "redemptions__grant__program")
        .get()
    )
    invoices_preview_fill([shown])
    event_record(
        type=event_type, tenant=shown.tenant_id, data=as_api_shows(InvoiceSerializer(shown))
    )


def credit_note_event(note: CreditNote) -> None:
    """`credit_note.created`, the note as `GET credit-notes/{id}/` shows it."""
    shown = CreditNote.objects.select_related("invoice__tenant").get(pk=note.pk)
    event_record(
        type=EventType.CREDIT_NOTE_CREATED,
        tenant=shown.invoice.tenant_id,
        data=as_api_shows(CreditNoteSerializer(shown)),
    )


def grants_low_balance(grant_ids: Iterable[int]) -> None:
    """`grant.low_balance` for each of these grants whose remaining balance is now below 10 % of
    its amount, once per grant (a grant whose vouchers come back by a void and run low again is
    not announced twice)."""
    ids = set(grant_ids)
    if not ids:
        return
    announced = set(
        Event.objects.filter(type=EventType.GRANT_LOW_BALANCE, data__id__in=list(ids)).values_list(
            "data__id", flat=True
        )
    )
    low = [
        grant
        for grant in VoucherGrant.objects.filter(pk__in=ids - announced).select_related(
            "program", "tenant"
        )
        if grant.amount > 0 and grant.remaining < grant.amount * LOW_BALANCE_SHARE
    ]
    events_record(
        (EventType.GRANT_LOW_BALANCE, grant.tenant_id, as_api_shows(VoucherGrantSerializer(grant)))
        for grant in low
    )
