from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.choices import RunStatus
from billing.services.invoicing import invoice_run
from core import clock


class Command(BaseCommand):
    help = "Create or refresh the draft invoices of a month (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            month = clock.parse_month(options["month"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        run = invoice_run(month=month)
        if run.status != RunStatus.DONE:
            raise CommandError(f"invoice run {run.pk} failed: {run.error}")
        self.stdout.write(f"invoice run {run.pk} for {month:%Y-%m}: {run.invoices} draft(s)")
