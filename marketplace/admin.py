from django.contrib import admin

from marketplace.models import Card, CardModel, Rack, Server, Site


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["id", "code", "name", "city", "province"]
    search_fields = ["code", "name", "city"]


@admin.register(Rack)
class RackAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "site", "status", "power_kw"]
    list_filter = ["status", "site"]
    search_fields = ["name"]
    list_select_related = ["site"]


class CardInline(admin.TabularInline):
    model = Card
    extra = 0
    fields = ["serial", "card_model", "status", "capex_cost", "commissioned_on"]


@admin.register(Server)
class ServerAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "rack", "position"]
    list_filter = ["rack__site", "rack__status"]
    search_fields = ["name", "rack__name"]
    list_select_related = ["rack"]
    inlines = [CardInline]


@admin.register(CardModel)
class CardModelAdmin(admin.ModelAdmin):
    list_display = [
        "id", "vendor", "name", "memory_gb", "bf16_tflops", "domestic", "hourly_rate",
        "monthly_rate", "is_active",
    ]  # fmt: skip
    list_filter = ["domestic", "vendor", "is_active"]
    search_fields = ["vendor", "name"]


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "serial",
        "card_model",
        "server",
        "status",
        "capex_cost",
        "commissioned_on",
    ]
    list_filter = ["status", "card_model", "server__rack__site"]
    search_fields = ["serial"]
    list_select_related = ["card_model", "server"]
    raw_id_fields = ["server"]
