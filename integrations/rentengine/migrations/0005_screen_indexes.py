"""Indexes for the agent screens (issue 5): one per keyset sort the lists offer, and trigram indexes
for substring search.

Raw SQL outside Django's model state, so the mirror models (and makemigrations) are untouched:
- the btree indexes are plain `CREATE INDEX IF NOT EXISTS`, the same on PostgreSQL and SQLite;
- the trigram (pg_trgm GIN) indexes exist only on PostgreSQL. Their expressions match what Django
  writes for `icontains` (UPPER(col::text) LIKE UPPER(...)) and `contains` (col::text LIKE ...).
  Where the extension can't be created (no contrib package, no privilege) search still works by
  scanning, as it does on SQLite: the migration says so and moves on.
"""

from django.db import DatabaseError, migrations, transaction

BTREE = [
    ("ld_prospect_status_changed", "rentengine_prospect", "account_id, status_changed_at, id", ""),
    ("ld_prospect_follow_up", "rentengine_prospect", "account_id, next_follow_up, id", ""),
    ("ld_prospect_name", "rentengine_prospect", "account_id, name, id", ""),
    ("ld_prospect_source_created", "rentengine_prospect", "account_id, source_normalized, created_at, id", ""),
    ("ld_unit_address", "rentengine_unit", "account_id, address, id", ""),
    ("ld_unit_updated", "rentengine_unit", "account_id, source_updated_at, id", ""),
    ("ld_lockbox_installed", "rentengine_lockbox", "account_id, installed_at, id", ""),
    ("ld_lockbox_last_event_id", "rentengine_lockbox", "account_id, last_event_at, id", ""),
    ("ld_lockbox_current_unit", "rentengine_lockbox", "current_unit_id", ""),
    ("ld_event_planned", "rentengine_leasingevent", "account_id, planned_at, id", " WHERE planned_at IS NOT NULL"),
    ("ld_showing_account_agent", "rentengine_showing", "account_id, agent_name, planned_at", ""),
]

TRIGRAM = [
    ("ld_prospect_name_trgm", "rentengine_prospect", "UPPER(name::text) gin_trgm_ops"),
    ("ld_prospect_email_trgm", "rentengine_prospect", "UPPER(email::text) gin_trgm_ops"),
    ("ld_prospect_phone_trgm", "rentengine_prospect", "(phone_digits::text) gin_trgm_ops"),
    ("ld_unit_address_trgm", "rentengine_unit", "UPPER(address::text) gin_trgm_ops"),
    ("ld_lockbox_serial_trgm", "rentengine_lockbox", "UPPER(serial_number::text) gin_trgm_ops"),
]


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for name, table, columns, where in BTREE:
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns}){where}")
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        print(f"\n  pg_trgm is not available ({exc}); text search will scan instead of using trigram indexes.")
        return
    with connection.cursor() as cursor:
        for name, table, expression in TRIGRAM:
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression})")


def backwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for name, *_ in BTREE + [(n, t, e, "") for n, t, e in TRIGRAM]:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("rentengine", "0004_sync_bookkeeping")]

    operations = [migrations.RunPython(forwards, backwards)]
