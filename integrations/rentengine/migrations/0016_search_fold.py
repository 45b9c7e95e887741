"""Accent-insensitive search (issue 17): `ld_fold(text)`, UPPER without accents, and trigram indexes
on it for names, emails and addresses (integrations/rentengine/text_fold.py).

On PostgreSQL `ld_fold` wraps the `unaccent` extension in an IMMUTABLE SQL function (unaccent itself
is only STABLE, so no index can use it) and names the dictionary with its schema, so the result never
depends on the search_path. Where unaccent can't be created, ld_fold is UPPER alone and the migration
says so: search stays case-insensitive, not accent-insensitive. SQLite registers ld_fold on each
connection instead (nothing to create here).
"""

from django.db import DatabaseError, migrations, transaction

TRIGRAM = [
    ("ld_prospect_name_fold_trgm", "rentengine_prospect", "name"),
    ("ld_prospect_email_fold_trgm", "rentengine_prospect", "email"),
    ("ld_unit_address_fold_trgm", "rentengine_unit", "address"),
]


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    body = "SELECT upper($1)"
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
            cursor.execute(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent'"
            )
            schema = cursor.fetchone()[0]
            body = f"SELECT upper({schema}.unaccent('{schema}.unaccent'::regdictionary, $1))"
    except DatabaseError as exc:
        print(f"\n  unaccent is not available ({exc}); search ignores case but not accents.")
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE OR REPLACE FUNCTION ld_fold(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $${body}$$"
        )
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is None:
            return  # no trigram indexes at all (migration 0005 said so): search scans
        for name, table, column in TRIGRAM:
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (ld_fold({column}) gin_trgm_ops)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name, *_ in TRIGRAM:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
        cursor.execute("DROP FUNCTION IF EXISTS ld_fold(text)")


class Migration(migrations.Migration):
    dependencies = [("rentengine", "0015_rentengineuser_name_per_account")]

    operations = [migrations.RunPython(forwards, backwards)]
