from decimal import Decimal

from django.db import migrations

METRICS = [
    # code, name, unit, unit price, billable, external
    ("card_minutes", "Short-lease card time", "card-minute", None, True, False),
    ("storage_tb_hours", "Storage", "TB-hour", Decimal("0.1400"), True, True),
    ("egress_tb", "Internet egress", "TB", Decimal("500.0000"), True, True),
    ("card_busy_hours", "Card busy time (utilisation, not billed)", "card-hour", None, False, True),
]


def add_metrics(apps, schema_editor):
    Metric = apps.get_model("billing", "Metric")
    for code, name, unit, price, billable, external in METRICS:
        Metric.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "unit": unit,
                "unit_price": price,
                "billable": billable,
                "external": external,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(add_metrics, migrations.RunPython.noop)]
