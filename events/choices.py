from django.db import models


class EventType(models.TextChoices):
    """Every event the outbox records; the API validates `?type=` and endpoints' filters
    against these."""

    LEASE_CREATED = "lease.created", "Lease created"
    LEASE_ACTIVATED = "lease.activated", "Lease activated"
    LEASE_ENDED = "lease.ended", "Lease ended"
    LEASE_CANCELLED = "lease.cancelled", "Lease cancelled"
    LEASE_TERMINATED = "lease.terminated", "Lease terminated"
    LEASE_RENEWED = "lease.renewed", "Lease renewed"
    LEASE_CARD_SWAPPED = "lease.card_swapped", "Lease card swapped"
    INVOICE_ISSUED = "invoice.issued", "Invoice issued"
    INVOICE_PAID = "invoice.paid", "Invoice paid"
    INVOICE_VOIDED = "invoice.voided", "Invoice voided"
    CREDIT_NOTE_CREATED = "credit_note.created", "Credit note created"
    GRANT_LOW_BALANCE = "grant.low_balance", "Voucher grant low balance"
    SPEND_LIMIT_WARNING = "spend_limit.warning", "Spend limit warning"
    SPEND_LIMIT_REACHED = "spend_limit.reached", "Spend limit reached"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
