from django.contrib import admin

from leasing.models import Allocation, Lease, LeaseEvent


class AllocationInline(admin.TabularInline):
    model = Allocation
    extra = 0
    raw_id_fields = ["card"]


class LeaseEventInline(admin.TabularInline):
    model = LeaseEvent
    extra = 0
    readonly_fields = ["at", "actor", "from_status", "to_status", "reason", "data"]


@admin.register(Lease)
class LeaseAdmin(admin.ModelAdmin):
    list_display = [
        "id", "tenant", "kind", "card_model", "card_count", "status", "start", "end", "unit_price",
    ]  # fmt: skip
    list_filter = ["kind", "status", "card_model", "site"]
    search_fields = ["tenant__name"]
    list_select_related = ["tenant", "card_model"]
    raw_id_fields = ["renewed_from"]
    inlines = [AllocationInline, LeaseEventInline]


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    list_display = ["id", "lease", "card", "period"]
    raw_id_fields = ["lease", "card"]
