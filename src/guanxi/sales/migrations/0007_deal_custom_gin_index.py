"""PostgreSQL only: a GIN (jsonb_path_ops) index on `sales_deal.custom`, so `custom @> {...}` filters on deal
custom fields use it, as the customer tables have (customers 0006). SQLite reads the JSON with json_extract."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE INDEX IF NOT EXISTS sales_deal_custom_gin ON sales_deal USING gin (custom jsonb_path_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS sales_deal_custom_gin")


class Migration(migrations.Migration):
    dependencies = [("sales", "0006_deal_lines_priced")]

    operations = [migrations.RunPython(create, drop)]
