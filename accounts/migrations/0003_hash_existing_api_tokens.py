"""DRF's plain-text tokens become knox's hashed, expiring tokens; the plain keys go.

Clients keep working with the key they hold until it expires; the database
no longer holds anything that authenticates.
"""

from django.db import migrations
from django.utils import timezone


def hash_plain_tokens(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS, knox_settings

    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    AuthToken = apps.get_model("knox", "AuthToken")
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id FROM authtoken_token")
        rows = cursor.fetchall()
        expiry = timezone.now() + knox_settings.TOKEN_TTL
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
            ignore_conflicts=True,
        )
        cursor.execute("DELETE FROM authtoken_token")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_language"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(hash_plain_tokens, migrations.RunPython.noop)]
