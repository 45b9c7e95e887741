"""A partial index for the prospects list's created-date range (issue 5, bench/pages.py), raw SQL
like 0005/0009-0011: an account's live prospects by created_at.

The range's capped count then reads about a thousand index entries (0.9 ms) instead of a
sequential scan of the prospects table that stops once it has counted enough rows: 1 ms when the
matches sit at the start of the table, 23-50 ms when they don't. The same SQL on PostgreSQL and
SQLite.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS ld_prospect_alive_created ON rentengine_prospect (account_id, created_at) "
            "WHERE deleted_at IS NULL"
        )


def backwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS ld_prospect_alive_created")


class Migration(migrations.Migration):
    dependencies = [("rentengine", "0011_unit_lockbox_alive_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
