from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Tenants and users"

    def ready(self) -> None:
        from accounts import constraints  # noqa: F401  (registers constraint → error mappings)
