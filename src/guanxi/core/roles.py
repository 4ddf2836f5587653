"""The six roles as groups, and which model permissions each one carries.

Later apps add their models' permissions with `grant(role, "app.codename", ...)` from their
AppConfig.ready(); `roles_sync` (run by the core data migration and after every migrate) applies
the grants, so a new app's permissions reach the roles without hand work.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from .models import ADMINISTRATOR

ROLES = {
    ADMINISTRATOR: _("Administrator"),
    "manager": _("Manager"),
    "sales": _("Sales"),
    "service": _("Service"),
    "marketing": _("Marketing"),
    "analyst": _("Analyst"),
}

_grants: dict[str, set[str]] = defaultdict(set)


def grant(role: str, *permissions: str) -> None:
    """Give `role` these permissions (`app_label.codename`) at the next sync."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}")
    _grants[role].update(permissions)


everyone = tuple(ROLES)
for _role in everyone:
    grant(_role, "core.view_user", "core.view_team", "core.view_job", "core.add_job")
grant(ADMINISTRATOR, "core.add_user", "core.change_user", "core.add_team", "core.change_team")
grant(ADMINISTRATOR, "core.view_pii", "core.view_event", "auth.view_group", "auth.change_group")
grant("manager", "core.view_event", "core.view_pii")
# custom-field definitions and tags are readable by everyone (API clients learn the schema at run time);
# administrators define fields, required-field rules and tags; whoever edits customers may add tags
for _role in everyone:
    grant(_role, "core.view_customfield", "core.view_tag")
grant(ADMINISTRATOR, "core.add_customfield", "core.change_customfield", "core.delete_customfield")
grant(ADMINISTRATOR, "core.view_fieldrule", "core.change_fieldrule")
grant(ADMINISTRATOR, "core.add_tag", "core.change_tag", "core.delete_tag")
grant("manager", "core.add_tag")
grant("sales", "core.add_tag")
grant("service", "core.add_tag")
grant("analyst", "core.view_event")
# imports: each record type also needs its own add permission (customers.add_contact …)
for _role in (ADMINISTRATOR, "manager", "sales", "service"):
    grant(_role, "core.view_importbatch", "core.add_importbatch", "core.change_importbatch")
    grant(_role, "core.view_importtemplate", "core.add_importtemplate", "core.change_importtemplate")
    grant(_role, "core.delete_importtemplate")


_PERMISSION_ACTIONS = {
    "view": pgettext_lazy("permission", "view"),
    "add": pgettext_lazy("permission", "add"),
    "change": pgettext_lazy("permission", "change"),
    "delete": pgettext_lazy("permission", "delete"),
}


def permission_label(permission: Any) -> str:
    """A permission's name in the reader's language ("Can view user" is stored in English in the database)."""
    action, _sep, model_name = permission.codename.partition("_")
    model = permission.content_type.model_class()
    if action in _PERMISSION_ACTIONS and model is not None and model_name == model._meta.model_name:
        return gettext("Can %(action)s %(model)s") % {
            "action": _PERMISSION_ACTIONS[action],
            "model": model._meta.verbose_name,
        }
    return gettext(permission.name)


def roles_sync(group_model: Any = None, permission_model: Any = None, grant_model: Any = None) -> None:
    """Create the role groups and give each registered grant once.

    A grant already given is remembered (RoleGrant), so a permission an administrator later removed
    from a role stays removed; new apps' grants still arrive at their first migrate.
    """
    from django.contrib.auth.models import Group, Permission

    from .models import RoleGrant

    group_model = group_model or Group
    permission_model = permission_model or Permission
    grant_model = grant_model or RoleGrant
    groups = {role: group_model.objects.get_or_create(name=role)[0] for role in ROLES}
    wanted = {dotted for role in ROLES for dotted in _grants.get(role, set())}
    codenames = {dotted.split(".", 1)[1] for dotted in wanted}
    permissions = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in permission_model.objects.filter(codename__in=codenames).values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    given = set(grant_model.objects.filter(group__in=groups.values()).values_list("group_id", "permission_id"))
    new = sorted(
        {
            (groups[role].pk, permissions[dotted])
            for role in ROLES
            for dotted in _grants.get(role, set())
            if dotted in permissions and (groups[role].pk, permissions[dotted]) not in given
        }
    )
    through = group_model.permissions.through
    through.objects.bulk_create(
        [through(group_id=g, permission_id=p) for g, p in new], ignore_conflicts=True, batch_size=1000
    )
    grant_model.objects.bulk_create([grant_model(group_id=g, permission_id=p) for g, p in new], batch_size=1000)


def roles_sync_after_migrate(sender: Any, **kwargs: Any) -> None:
    """Re-apply grants once each Guanxi app's permissions exist (auth creates them just before this runs)."""
    if getattr(sender, "name", "").startswith("guanxi."):
        roles_sync()
