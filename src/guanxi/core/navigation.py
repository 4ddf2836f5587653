"""The navigation registry: each app adds its menu entries from AppConfig.ready()."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    permission: str = ""
    section: str = "main"
    order: int = 100
    icon: str = ""

    @property
    def url(self) -> str:
        return reverse(self.url_name)


_items: list[NavItem] = []


def nav_item(item: NavItem) -> None:
    if item not in _items:
        _items.append(item)


def nav_for(user: Any, section: str = "main") -> list[NavItem]:
    """The menu entries this user may open, in order."""
    return sorted(
        (i for i in _items if i.section == section and (not i.permission or user.has_perm(i.permission))),
        key=lambda i: (i.order, str(i.label)),
    )


nav_item(NavItem(_("Home"), "home", order=0, icon="home"))
nav_item(NavItem(_("Imports"), "import-list", "core.view_importbatch", order=850, icon="upload"))
nav_item(NavItem(_("Jobs"), "job-list", "core.view_job", order=900, icon="progress"))
nav_item(NavItem(_("Users"), "user-list", "core.change_user", section="admin", order=10))
nav_item(NavItem(_("Teams"), "team-list", "core.change_team", section="admin", order=20))
nav_item(NavItem(_("Roles"), "role-list", "auth.change_group", section="admin", order=30))
nav_item(NavItem(_("Audit log"), "audit-log", "core.view_event", section="admin", order=40))
nav_item(NavItem(_("Custom fields"), "custom-field-list", "core.change_customfield", section="admin", order=50))
nav_item(NavItem(_("Tags"), "tag-list", "core.change_tag", section="admin", order=60))
