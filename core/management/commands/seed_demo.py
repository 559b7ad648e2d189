from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

# Each app's demo module adds its part, in dependency order: the fleet, then leases (with a
# history of past months), then usage, vouchers and invoices, then occupancy and revenue.
SEEDERS = ["accounts.demo", "marketplace.demo", "leasing.demo", "billing.demo", "analytics.demo"]


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
        accounts_demo = import_module("accounts.demo")
        if accounts_demo.is_seeded():
            self.stdout.write("Demo data already present.")
        else:
            with transaction.atomic():
                for module in SEEDERS:
                    import_module(module).seed()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write(f"Demo users (password '{accounts_demo.DEMO_PASSWORD}'):")
        for line in accounts_demo.describe():
            self.stdout.write(line)
