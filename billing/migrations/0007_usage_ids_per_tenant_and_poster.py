"""Usage ids belong to their poster: unique per (tenant, poster, source, external_id).

Records stored before this migration were unique across all tenants; the platform meter's
(source `platform`) become the platform's, every other one the operator's (usage batches were
not attributed to their poster, and the operator's meters posted most of them).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0006_invoice_text_limits_and_parties_check"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="usagerecord",
            name="billing_usagerecord_unique_external_id",
        ),
        migrations.AddField(
            model_name="usagerecord",
            name="poster",
            field=models.CharField(
                choices=[
                    ("platform", "Platform meter"),
                    ("operator", "Operator"),
                    ("tenant", "Tenant"),
                ],
                default="operator",
                help_text="who posted it: ids are unique per tenant and poster",
                max_length=8,
            ),
            preserve_default=False,
        ),
        migrations.RunSQL(
            "UPDATE billing_usagerecord SET poster = 'platform' WHERE source = 'platform'",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name="usagerecord",
            constraint=models.UniqueConstraint(
                fields=("tenant", "poster", "source", "external_id"),
                name="billing_usagerecord_unique_external_id",
            ),
        ),
        migrations.AddConstraint(
            model_name="usagerecord",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("poster", "platform"), ("source", "platform")),
                    models.Q(
                        models.Q(("source", "platform"), _negated=True),
                        models.Q(("poster", "platform"), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="billing_usagerecord_platform_source_reserved",
            ),
        ),
    ]
