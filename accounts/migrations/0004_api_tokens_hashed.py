"""API tokens move from DRF's `authtoken` (keys stored in plain text) to django-rest-knox
(SHA-512 digests, with an expiry).

Each existing key is hashed into a knox row, so every client keeps working with the key it has;
the row expires `API_TOKEN_TTL_DAYS` after this migration. Then the plain-text table is dropped
(the point of the move is that no key is kept readable) and `authtoken`'s migration records with
it, so the app could be installed again from scratch. Going back cannot restore the keys: the
reverse does nothing, and clients then need new tokens.

A database that never had `authtoken_token` (a new one) has nothing to move.
"""

import datetime as dt

from django.conf import settings
from django.db import migrations
from django.utils import timezone
from knox.crypto import hash_token
from knox.settings import CONSTANTS

OLD_TABLE = "authtoken_token"


def hash_plain_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    AuthToken = apps.get_model("knox", "AuthToken")
    expiry = timezone.now() + dt.timedelta(days=settings.API_TOKEN_TTL_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id FROM {OLD_TABLE}")
        rows = cursor.fetchall()
    AuthToken.objects.bulk_create(
        [
            AuthToken(
                digest=hash_token(key),
                token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
                user_id=user_id,
                expiry=expiry,
            )
            for key, user_id in rows
        ],
        ignore_conflicts=True,  # a rerun after a partial move finds its rows there
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {OLD_TABLE}")
        cursor.execute("DELETE FROM django_migrations WHERE app = 'authtoken'")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_admin_flags_follow_role"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(hash_plain_tokens, migrations.RunPython.noop)]
