from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmarks, as an app only for their management command (`generate_fleet`); installed
    in development and test settings, never in production."""

    name = "bench"
    default_auto_field = "django.db.models.BigAutoField"
