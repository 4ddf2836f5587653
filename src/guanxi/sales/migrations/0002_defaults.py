"""Starting data: currencies with example rates, a new-business and a renewals pipeline, lost reasons.

Names are written in the installation's default language (LANGUAGE_CODE); administrators rename them freely.
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import migrations

CURRENCIES = [
    ("CNY", "人民币", "Chinese yuan", Decimal("1")),
    ("USD", "美元", "US dollar", Decimal("7.100000")),
    ("EUR", "欧元", "Euro", Decimal("7.700000")),
    ("HKD", "港币", "Hong Kong dollar", Decimal("0.910000")),
    ("TWD", "新台币", "New Taiwan dollar", Decimal("0.220000")),
]
# (zh, en, probability, kind, required fields)
NEW_BUSINESS = [
    ("初步接洽", "First contact", 10, "open", []),
    ("需求确认", "Needs confirmed", 25, "open", []),
    ("方案报价", "Proposal / quote sent", 50, "open", ["amount"]),
    ("谈判", "Negotiation", 75, "open", ["amount", "expected_close"]),
    ("赢单", "Won", 100, "won", []),
    ("输单", "Lost", 0, "lost", []),
]
RENEWALS = [
    ("待续约", "Renewal due", 40, "open", []),
    ("续约报价", "Renewal quoted", 70, "open", ["amount"]),
    ("已续约", "Renewed", 100, "won", []),
    ("未续约", "Not renewed", 0, "lost", []),
]
LOST_REASONS = [
    ("价格过高", "Price too high"),
    ("选择了竞争对手", "Chose a competitor"),
    ("没有预算", "No budget"),
    ("时机不合适", "Bad timing"),
    ("失去联系", "No response"),
    ("需求不匹配", "Needs not met"),
]


def _english() -> bool:
    return str(settings.LANGUAGE_CODE).lower().startswith("en")


def create(apps: Any, schema_editor: Any) -> None:
    Currency = apps.get_model("sales", "Currency")
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    LostReason = apps.get_model("sales", "LostReason")
    SalesSettings = apps.get_model("sales", "SalesSettings")
    en = _english()
    for code, zh, english, rate in CURRENCIES:
        Currency.objects.get_or_create(code=code, defaults={"name": english if en else zh, "rate_to_cny": rate})
    for position, (zh, english, stages, default) in enumerate(
        [("新业务", "New business", NEW_BUSINESS, True), ("续约", "Renewals", RENEWALS, False)]
    ):
        pipeline, created = Pipeline.objects.get_or_create(
            name=english if en else zh, defaults={"position": position, "is_default": default}
        )
        if created:
            for index, (s_zh, s_en, probability, kind, required) in enumerate(stages):
                Stage.objects.create(
                    pipeline=pipeline,
                    name=s_en if en else s_zh,
                    position=index,
                    probability=probability,
                    kind=kind,
                    required_fields=required,
                )
    for index, (zh, english) in enumerate(LOST_REASONS):
        LostReason.objects.get_or_create(name=english if en else zh, defaults={"position": index})
    SalesSettings.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
