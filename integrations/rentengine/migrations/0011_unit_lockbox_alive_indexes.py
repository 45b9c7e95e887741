"""Two small partial indexes for the units list's "has a lockbox" filter (issue 5, bench/pages.py),
raw SQL like 0005/0009/0010:

- ld_unit_alive: an account's live unit ids;
- ld_lockbox_placed: the units that live lockboxes sit on.

The filter's capped count then merges the two indexes (0.7 ms) instead of hashing a scan of both
tables (3.5-4.7 ms: unit rows are wide, and the lockbox table, rewritten on every lockbox event,
is many times larger than its 1,000 rows). The same SQL on PostgreSQL and SQLite.
"""

from django.db import migrations

INDEXES = [
    ("ld_unit_alive", "rentengine_unit", "account_id, id", "deleted_at IS NULL"),
    ("ld_lockbox_placed", "rentengine_lockbox", "current_unit_id", "deleted_at IS NULL AND current_unit_id IS NOT NULL"),
]


def forwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for name, table, columns, where in INDEXES:
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns}) WHERE {where}")


def backwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for name, *_ in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("rentengine", "0010_prospect_alive_id_index")]

    operations = [migrations.RunPython(forwards, backwards)]
