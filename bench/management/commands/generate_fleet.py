from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench.fleet import FleetError, generate_fleet


class Command(BaseCommand):
    help = "Build a large synthetic fleet fast (bulk inserts) for benchmarks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cards", type=int, default=10000)
        parser.add_argument("--days", type=int, default=365, help="days of leases and usage")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = generate_fleet(
                cards=options["cards"], days=options["days"], seed=options["seed"]
            )
        except FleetError as exc:
            raise CommandError(str(exc)) from exc
        for name, counts in result.items():
            self.stdout.write(f"{name}: {counts}")
