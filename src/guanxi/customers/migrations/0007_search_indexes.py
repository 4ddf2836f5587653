"""Search indexes by vendor: pg_trgm GIN + pattern B-trees on PostgreSQL, FTS5 trigram tables on SQLite.

Hand-written SQL, kept in its own migration; the statements live in customers/search_index.py.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    from guanxi.customers.search_index import search_indexes_ensure

    search_indexes_ensure(schema_editor.connection)


def backwards(apps, schema_editor):
    from guanxi.customers.search_index import postgres_indexes_drop, sqlite_fts_drop

    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            postgres_indexes_drop(cursor)
        elif schema_editor.connection.vendor == "sqlite":
            sqlite_fts_drop(cursor)


class Migration(migrations.Migration):
    dependencies = [("customers", "0006_custom_gin_index")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
