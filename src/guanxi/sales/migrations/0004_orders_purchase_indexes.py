"""PostgreSQL only: covering partial indexes for the purchase figures (repurchase rate, average order value).

They hold only purchases (cancelled and refunded orders left out), sorted by customer, with the amounts
included, so the figures are an index-only scan grouped in index order. Vendor-specific SQL, so apart from
the model migrations, like customers' 0006.
"""

from django.db import migrations

PURCHASE = "NOT (status IN ('cancelled', 'refunded'))"
INDEXES = {
    "sales_order_purchases_account": (
        f"ON sales_order (account_id) INCLUDE (gross_total, rate_to_cny) WHERE {PURCHASE} AND account_id IS NOT NULL"
    ),
    "sales_order_purchases_contact": (
        f"ON sales_order (contact_id) INCLUDE (gross_total, rate_to_cny) WHERE {PURCHASE} AND account_id IS NULL"
    ),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, body in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {body}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("sales", "0003_orders_tax_rates_settings")]

    operations = [migrations.RunPython(create, drop)]
