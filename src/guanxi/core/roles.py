"""The six roles as groups, and which model permissions each one carries.

Later apps add their models' permissions with `grant(role, "app.codename", ...)` from their
AppConfig.ready(); `roles_sync` (run by the core data migration and after every migrate) applies
the grants, so a new app's permissions reach the roles without hand work.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

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
grant(ADMINISTRATOR, "core.add_user", "core.change_user", "core.add_team", "core.change_team", "core.delete_team")
grant(ADMINISTRATOR, "core.view_pii", "core.view_event", "core.change_job", "auth.view_group", "auth.change_group")
grant("manager", "core.view_event", "core.view_pii", "core.change_job")
grant("analyst", "core.view_event")


def roles_sync(group_model: Any = None, permission_model: Any = None) -> None:
    """Create the role groups and add the registered grants (never removes what an admin added)."""
    from django.contrib.auth.models import Group, Permission

    group_model = group_model or Group
    permission_model = permission_model or Permission
    for role in ROLES:
        group, _created = group_model.objects.get_or_create(name=role)
        wanted = _grants.get(role, set())
        perms = []
        for dotted in wanted:
            app_label, codename = dotted.split(".", 1)
            perms.extend(permission_model.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.add(*perms)


def roles_sync_after_migrate(sender: Any, **kwargs: Any) -> None:
    """Re-apply grants once each Guanxi app's permissions exist (auth creates them just before this runs)."""
    if getattr(sender, "name", "").startswith("guanxi."):
        roles_sync()
