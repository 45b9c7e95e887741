"""Covering indexes for the agent screens' busiest reads (issue 5, bench/pages.py), like 0005 raw SQL
outside Django's model state, so the mirror models are untouched:

- ld_prospect_alive_newest: live prospects of an account, newest first, with the column the
  default "mine + unassigned" and "unassigned" filters test first. Their capped count then reads
  the index alone instead of a heap row per prospect (7 ms -> under 1 ms for 1,001 rows).
- ld_prospect_unit_open: live prospects per unit with their status family: the units list's
  "open prospects" column counts 50 units' prospects (2,000 rows) from the index alone.

PostgreSQL keeps the extra column out of the key (INCLUDE); SQLite has no INCLUDE, so there it
closes the key instead (the same index-only reads, a slightly larger index).
"""

from django.db import migrations

INDEXES = [
    # name, table, key columns, included columns, predicate
    ("ld_prospect_alive_newest", "rentengine_prospect", "account_id, id DESC", "assigned_by_event_id", "deleted_at IS NULL"),
    ("ld_prospect_unit_open", "rentengine_prospect", "account_id, unit_id, status_family", "", "deleted_at IS NULL"),
]


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for name, table, key, include, where in INDEXES:
            if include and connection.vendor == "postgresql":
                columns = f"({key}) INCLUDE ({include})"
            else:
                columns = f"({key}, {include})" if include else f"({key})"
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {columns} WHERE {where}")


def backwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for name, *_ in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("rentengine", "0008_outbox_partial_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
