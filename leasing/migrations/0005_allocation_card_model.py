# An allocation carries its card's model, kept by the database: availability then finds a
# model's busy cards over a window with one range scan (`leasing_allocation_model_upper`)
# instead of walking the (card, period) GiST index over the whole fleet's history.

import django.db.models.deletion
from django.db import migrations, models

# The column is filled set-based for the rows there are, then NOT NULL. From then on the
# trigger keeps it: on insert (COPY included) and on a change of card it is the card's model,
# whatever the writer put there; when a card's model changes, its allocations follow. No
# foreign key: the card's own (and the card's to its allocations) already holds it, and a
# second check per allocation would only slow lease creation.
CARD_MODEL = """
ALTER TABLE leasing_allocation ADD COLUMN card_model_id bigint;
UPDATE leasing_allocation a SET card_model_id = c.card_model_id
FROM marketplace_card c WHERE c.id = a.card_id;
ALTER TABLE leasing_allocation ALTER COLUMN card_model_id SET NOT NULL;

CREATE FUNCTION leasing_allocation_card_model() RETURNS trigger AS $$
BEGIN
    SELECT card_model_id INTO NEW.card_model_id FROM marketplace_card WHERE id = NEW.card_id;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER leasing_allocation_card_model
BEFORE INSERT OR UPDATE OF card_id, card_model_id ON leasing_allocation
FOR EACH ROW EXECUTE FUNCTION leasing_allocation_card_model();

CREATE FUNCTION leasing_card_model_follows() RETURNS trigger AS $$
BEGIN
    UPDATE leasing_allocation SET card_model_id = NEW.card_model_id WHERE card_id = NEW.id;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER leasing_card_model_follows
AFTER UPDATE OF card_model_id ON marketplace_card
FOR EACH ROW WHEN (OLD.card_model_id IS DISTINCT FROM NEW.card_model_id)
EXECUTE FUNCTION leasing_card_model_follows();
"""

NO_CARD_MODEL = """
DROP TRIGGER leasing_card_model_follows ON marketplace_card;
DROP FUNCTION leasing_card_model_follows();
DROP TRIGGER leasing_allocation_card_model ON leasing_allocation;
DROP FUNCTION leasing_allocation_card_model();
ALTER TABLE leasing_allocation DROP COLUMN card_model_id;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('leasing', '0004_lease_id_tenant'),
        ('marketplace', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(CARD_MODEL, NO_CARD_MODEL)],
            state_operations=[
                migrations.AddField(
                    model_name='allocation',
                    name='card_model',
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        editable=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name='+',
                        to='marketplace.cardmodel',
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name='allocation',
            index=models.Index(models.F('card_model'), models.Func(models.Func(models.F('period'), function='upper'), models.Value('infinity'), function='COALESCE', output_field=models.DateTimeField()), include=('card', 'period'), name='leasing_allocation_model_upper'),
        ),
    ]
