"""PostgreSQL only: a GIN (jsonb_path_ops) index on each `custom` column, so `custom @> {...}` filters use it.

SQLite has no GIN index; its filters read the JSON with json_extract. Kept apart from the model
migrations because it is vendor-specific SQL.
"""

from django.db import migrations

TABLES = ("customers_account", "customers_contact", "customers_lead")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_custom_gin ON {table} USING gin (custom jsonb_path_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {table}_custom_gin")


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_custom_fields_tags")]

    operations = [migrations.RunPython(create, drop)]
