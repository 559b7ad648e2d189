from django.apps import AppConfig


class LeasingConfig(AppConfig):
    name = "leasing"
    verbose_name = "Leases"

    def ready(self) -> None:
        from leasing import constraints  # noqa: F401  (constraint → error mappings)
