"""Spend-limit notices are per limit: a limit changed mid-month notifies against the new one.
Notices already recorded take their tenant's limit of now (the one they were sent for, unless
it changed since: then the new limit notifies again once, as a changed limit does; 0 where the
budget is gone)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0013_budgets'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='budgetnotice',
            name='billing_budgetnotice_once',
        ),
        migrations.AddField(
            model_name='budgetnotice',
            name='monthly_limit',
            field=models.DecimalField(decimal_places=2, max_digits=14, null=True),
        ),
        migrations.RunSQL(
            """
            UPDATE billing_budgetnotice n SET monthly_limit = COALESCE(
                (SELECT b.monthly_limit FROM billing_budget b WHERE b.tenant_id = n.tenant_id), 0
            );
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name='budgetnotice',
            name='monthly_limit',
            field=models.DecimalField(decimal_places=2, max_digits=14),
        ),
        migrations.AddConstraint(
            model_name='budgetnotice',
            constraint=models.UniqueConstraint(
                fields=('tenant', 'month', 'monthly_limit', 'kind', 'threshold'),
                name='billing_budgetnotice_once',
            ),
        ),
    ]
