from importlib import import_module
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketplace.models import Site

# Each capability adds its generator: (module, function), called in order with the options.
GENERATORS = [
    ("marketplace.generators", "generate_inventory"),
    ("leasing.generators", "generate_leases"),
]


class Command(BaseCommand):
    help = "Build a large synthetic fleet fast (bulk inserts) for benchmarks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cards", type=int, default=10000)
        parser.add_argument("--days", type=int, default=365, help="days of leases and usage")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args: Any, **options: Any) -> None:
        if Site.objects.filter(code__startswith="GF").exists():
            raise CommandError(
                "A generated fleet is already here (sites GF…); use a fresh database."
            )
        if options["cards"] <= 0 or options["days"] <= 0:
            raise CommandError("--cards and --days must be positive")
        for module, name in GENERATORS:
            generator = getattr(import_module(module), name)
            if name == "generate_inventory":
                result = generator(cards=options["cards"])
            else:
                result = generator(days=options["days"], seed=options["seed"])
            self.stdout.write(f"{name}: {result}")
