from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmarks, as an app only for their management command (`generate_fleet`, benchmark
    data): no models, no URLs; installed everywhere so the command is wherever the service is."""

    name = "bench"
    default_auto_field = "django.db.models.BigAutoField"
