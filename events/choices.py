from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    """Every event the outbox records; the API validates `?type=` and endpoints' filters
    against these."""

    LEASE_CREATED = "lease.created", _("Lease created")
    LEASE_ACTIVATED = "lease.activated", _("Lease activated")
    LEASE_ENDED = "lease.ended", _("Lease ended")
    LEASE_CANCELLED = "lease.cancelled", _("Lease cancelled")
    LEASE_TERMINATED = "lease.terminated", _("Lease terminated")
    LEASE_RENEWED = "lease.renewed", _("Lease renewed")
    LEASE_CARD_SWAPPED = "lease.card_swapped", _("Lease card swapped")
    INVOICE_ISSUED = "invoice.issued", _("Invoice issued")
    INVOICE_PAID = "invoice.paid", _("Invoice paid")
    INVOICE_VOIDED = "invoice.voided", _("Invoice voided")
    CREDIT_NOTE_CREATED = "credit_note.created", _("Credit note created")
    GRANT_LOW_BALANCE = "grant.low_balance", _("Voucher grant low balance")
    SPEND_LIMIT_WARNING = "spend_limit.warning", _("Spend limit warning")
    SPEND_LIMIT_REACHED = "spend_limit.reached", _("Spend limit reached")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
