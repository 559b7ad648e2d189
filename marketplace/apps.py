from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Inventory and catalogue"

    def ready(self) -> None:
        from marketplace import constraints  # noqa: F401  (constraint → error mappings)
