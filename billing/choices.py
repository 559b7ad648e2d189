from django.db import models


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class LineKind(models.TextChoices):
    LONG_LEASE_FEE = "long_lease_fee", "Long-lease fee"
    SHORT_LEASE_USAGE = "short_lease_usage", "Short-lease usage"
    METERED_USAGE = "metered_usage", "Metered usage"
    TERMINATION_FEE = "termination_fee", "Termination fee"
    PRIOR_PERIOD = "prior_period", "Prior-period usage"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ClaimStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    REIMBURSED = "reimbursed", "Reimbursed"


class UsagePoster(models.TextChoices):
    """Who posted a usage record: each poster's (source, external_id) ids are its own."""

    PLATFORM = "platform", "Platform meter"
    OPERATOR = "operator", "Operator"
    TENANT = "tenant", "Tenant"


# The metric through which the platform meters its own short leases, and the meter's source:
# reserved to the platform (a usage batch naming it is refused record by record).
CARD_MINUTES = "card_minutes"
PLATFORM_SOURCE = "platform"
RESERVED_SOURCES = frozenset({PLATFORM_SOURCE})


class CreditReason(models.TextChoices):
    """Why a credit note corrects an invoice: the red-letter (红字) reasons the tax system knows."""

    ISSUED_IN_ERROR = "issued_in_error", "Issued in error (开票有误)"
    RETURNED = "returned", "Returned (销货退回)"
    SERVICE_STOPPED = "service_stopped", "Service stopped (服务中止)"
    ALLOWANCE = "allowance", "Allowance (销售折让)"


class FapiaoType(models.TextChoices):
    """The fapiao (发票) a tenant's billing profile asks for."""

    ORDINARY = "ordinary", "Ordinary (普通发票)"
    SPECIAL = "special", "Special VAT (增值税专用发票)"
