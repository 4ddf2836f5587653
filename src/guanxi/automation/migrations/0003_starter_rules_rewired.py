from django.db import migrations


def rewire(apps, schema_editor):
    """Starter rules nobody has edited take their working definitions; the `needs` marker goes away."""
    from guanxi.automation.starter import STARTER_RULES

    Rule = apps.get_model("automation", "Rule")
    for item in STARTER_RULES:
        rule = Rule.objects.filter(name=item["name"], version=1, active=False).first()
        if rule is None:
            continue
        for key in ("description", "trigger", "trigger_config", "conditions", "actions"):
            setattr(rule, key, item[key])
        rule.save()


class Migration(migrations.Migration):
    dependencies = [("automation", "0002_starter_rules")]

    operations = [
        migrations.RunPython(rewire, migrations.RunPython.noop),
        migrations.RemoveField(model_name="rule", name="needs"),
    ]
