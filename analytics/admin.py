"""Analytics in the admin: visible, read-only. Snapshots are recomputed by the analytics
services and business cases are made by `business_case_create`."""

from django.contrib import admin

from analytics.models import (
    BusinessCase,
    OccupancyDaily,
    RecomputeChunk,
    RecomputeRun,
    RevenueDaily,
    SiteDaily,
)
from core.admin import GovernedAdmin


@admin.register(OccupancyDaily)
class OccupancyDailyAdmin(GovernedAdmin):
    list_display = ["day", "site_id", "rack_id", "card_model_id", "cards_installed"]
    list_filter = ["day"]
    show_full_result_count = False


@admin.register(SiteDaily)
class SiteDailyAdmin(GovernedAdmin):
    list_display = ["day", "site_id", "racks_racked", "racks_planned"]


@admin.register(RevenueDaily)
class RevenueDailyAdmin(GovernedAdmin):
    list_display = ["day", "lease_id", "tenant_id", "lease_kind", "amount"]
    show_full_result_count = False


@admin.register(RecomputeRun)
class RecomputeRunAdmin(GovernedAdmin):
    list_display = ["id", "day_from", "day_to", "status", "trigger", "started_at", "finished_at"]


@admin.register(RecomputeChunk)
class RecomputeChunkAdmin(GovernedAdmin):
    list_display = ["id", "run", "site", "status", "owner_pid", "heartbeat_at", "finished_at"]
    list_select_related = ["run", "site"]


@admin.register(BusinessCase)
class BusinessCaseAdmin(GovernedAdmin):
    list_display = ["id", "site", "created_by", "created_at"]
