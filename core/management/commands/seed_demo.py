from collections.abc import Iterator
from importlib import import_module
from types import ModuleType
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.module_loading import module_has_submodule

# Each app may have a `demo` module adding its part: `seed()`, and optionally `is_seeded()` (the
# demo data is there already) and `describe()` (lines to print). They run in INSTALLED_APPS order,
# which is the apps' dependency order: the fleet, then leases (with a history of past months),
# then usage, vouchers and invoices, then occupancy and revenue. core names no app.


def demo_modules() -> Iterator[ModuleType]:
    for app_config in apps.get_app_configs():
        if module_has_submodule(app_config.module, "demo"):
            yield import_module(f"{app_config.name}.demo")


class Command(BaseCommand):
    help = (
        "Load demo data once: tenants, users and tokens, and each app's demo part (past months "
        "included). Running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when demo data is already there (always so; kept for old scripts)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEV_CONVENIENCES:
            # demo users have a published password: they exist only in `make run`'s demo
            raise CommandError(
                "seed_demo runs only under `make run` or the tests (AIDC_ENV=development|test); "
                "create real users with `manage.py create_user`."
            )
        modules = list(demo_modules())
        if any(module.is_seeded() for module in modules if hasattr(module, "is_seeded")):
            self.stdout.write("Demo data already present.")
        else:
            with transaction.atomic():
                for module in modules:
                    module.seed()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        for module in modules:
            for line in module.describe() if hasattr(module, "describe") else ():
                self.stdout.write(line)
