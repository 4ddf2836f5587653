"""The monthly product rollup, filled from the daily one (the report by product reads whole months from it)."""

from django.db import migrations, models
from django.db.models import Sum
from django.db.models.functions import TruncMonth


def fill(apps, schema_editor):
    daily = apps.get_model("feedback", "ScoreDailyProduct")
    monthly = apps.get_model("feedback", "ScoreMonthlyProduct")
    rows = (
        daily.objects.annotate(month=TruncMonth("day"))
        .values("month", "kind", "score", "product_id")
        .annotate(n=Sum("count"))
        .order_by()
    )
    monthly.objects.bulk_create(
        (
            monthly(month=r["month"], kind=r["kind"], score=r["score"], product_id=r["product_id"], count=r["n"])
            for r in rows.iterator(chunk_size=5000)
        ),
        batch_size=2000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0004_schedules_products_settings"),
    ]

    operations = [
        migrations.CreateModel(
            name="ScoreMonthlyProduct",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField()),
                ("kind", models.CharField(max_length=8)),
                ("score", models.SmallIntegerField()),
                ("product_id", models.PositiveBigIntegerField()),
                ("count", models.PositiveIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("month", "kind", "score", "product_id"), name="score_monthly_product_once"
                    )
                ],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
