import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.services import snapshots_recompute
from core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Recompute occupancy and revenue snapshots for a range of days (inclusive)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="day_from", required=True, type=dt.date.fromisoformat)
        parser.add_argument("--to", dest="day_to", required=True, type=dt.date.fromisoformat)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = snapshots_recompute(day_from=options["day_from"], day_to=options["day_to"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0
        self.stdout.write(f"recomputed {run.day_from} … {run.day_to} in {seconds:.2f} s")
