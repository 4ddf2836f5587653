"""Create the six roles as groups with their permissions."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    from guanxi.core.roles import roles_sync

    for label in ("auth", "core"):
        create_permissions(global_apps.get_app_config(label), verbosity=0, apps=apps)
    roles_sync(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
        grant_model=apps.get_model("core", "RoleGrant"),
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
