from django.db import migrations


def load(apps, schema_editor):
    from guanxi.automation.starter import starter_rules_load

    starter_rules_load(apps.get_model("automation", "Rule"))


class Migration(migrations.Migration):
    dependencies = [("automation", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
