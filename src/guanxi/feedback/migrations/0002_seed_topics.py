from django.db import migrations

TOPICS = [
    ("delivery", "Delivery", "物流配送"),
    ("quality", "Product quality", "产品质量"),
    ("price", "Price", "价格"),
    ("service", "Service attitude", "服务态度"),
    ("billing", "Billing", "账单发票"),
    ("app", "App / website", "App与网站"),
    ("other", "Other", "其他"),
]


def seed(apps, schema_editor):
    Topic = apps.get_model("feedback", "FeedbackTopic")
    for key, name, name_zh in TOPICS:
        Topic.objects.get_or_create(key=key, defaults={"name": name, "name_zh": name_zh})
    apps.get_model("feedback", "FeedbackSettings").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
