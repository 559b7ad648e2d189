from typing import Any

from django.contrib import admin

from core.admin import GovernedAdmin, GovernedTabularInline, service_action
from leasing import services
from leasing.models import Allocation, Lease, LeaseEvent


class AllocationInline(GovernedTabularInline):
    model = Allocation
    fields = ["card", "period"]


class LeaseEventInline(GovernedTabularInline):
    model = LeaseEvent
    fields = ["at", "actor", "from_status", "to_status", "reason", "data"]


def cancel(lease: Any, values: dict[str, Any]) -> object:
    return services.lease_cancel(actor=values["actor"], lease=lease, reason=values["reason"])


@admin.register(Lease)
class LeaseAdmin(GovernedAdmin):
    """Leases change through the lease services only (create, stop, terminate, cancel, renew):
    read-only here, with staff's cancel of a reservation as an action."""

    list_display = [
        "id", "tenant", "kind", "card_model", "card_count", "status", "start", "end", "unit_price",
    ]  # fmt: skip
    list_filter = ["kind", "status", "card_model", "site"]
    search_fields = ["tenant__name"]
    list_select_related = ["tenant", "card_model"]
    inlines = [AllocationInline, LeaseEventInline]
    actions = [
        service_action(
            description="Cancel the selected reserved leases (with a reason)",
            call=cancel,
            ask_reason=True,
        )
    ]


@admin.register(Allocation)
class AllocationAdmin(GovernedAdmin):
    list_display = ["id", "lease", "card", "period"]
    list_select_related = ["lease", "card"]
    show_full_result_count = False


@admin.register(LeaseEvent)
class LeaseEventAdmin(GovernedAdmin):
    list_display = ["id", "lease", "at", "actor", "from_status", "to_status", "reason"]
    list_filter = ["to_status"]
    list_select_related = ["lease", "actor"]
    show_full_result_count = False
