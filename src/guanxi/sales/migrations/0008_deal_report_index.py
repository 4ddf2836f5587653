"""Reports at a million deals: a covering index for the forecast and the board's column figures, and (PostgreSQL)
multi-column statistics so the planner knows that owner, team, stage and lost reason together make a few thousand
groups, not hundreds of thousands, and aggregates won/lost in memory instead of sorting a million rows on disk."""

from django.db import migrations, models

STATISTICS = "deal_report_groups"


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (ndistinct) "
        "ON owner_id, team_id, status, stage_id, lost_reason_id FROM sales_deal"
    )


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [("sales", "0007_deal_custom_gin_index")]

    operations = [
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(
                fields=["pipeline", "status", "expected_close"],
                include=("stage", "owner", "team", "amount_cny", "id"),
                name="deal_report",
            ),
        ),
        migrations.RunPython(create_statistics, drop_statistics),
    ]
