"""The navigation registry: each app adds its menu entries from AppConfig.ready()."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    permission: str = ""
    section: str = "main"
    order: int = 100
    icon: str = ""
    group: str = ""  # a key of MENU_GROUPS: the entry sits in that group's drop-down

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


# The main menu's drop-downs. Entries name their group by key; a group sits where its first entry would.
MENU_GROUPS: dict[str, str | Promise] = {
    "customers": pgettext_lazy("menu", "Customers"),
    "sales": pgettext_lazy("menu", "Sales"),
    "service": pgettext_lazy("menu", "Service"),
    "analytics": pgettext_lazy("menu", "Analytics"),
}


@dataclass
class NavGroup:
    key: str
    label: str | Promise
    items: list[NavItem]

    @property
    def url_names(self) -> list[str]:
        return [i.url_name for i in self.items]


def menu_for(user: Any) -> list[NavItem | NavGroup]:
    """The main menu for this user: plain entries, and groups (with at least one entry) at their first entry."""
    menu: list[NavItem | NavGroup] = []
    groups: dict[str, NavGroup] = {}
    for item in nav_for(user):
        if item.group not in MENU_GROUPS:
            menu.append(item)
        elif item.group in groups:
            groups[item.group].items.append(item)
        else:
            groups[item.group] = NavGroup(item.group, MENU_GROUPS[item.group], [item])
            menu.append(groups[item.group])
    return menu


nav_item(NavItem(_("Home"), "home", order=0, icon="home"))
nav_item(NavItem(_("Imports"), "import-list", "core.view_importbatch", order=850, icon="upload", group="customers"))
nav_item(NavItem(_("Jobs"), "job-list", "core.view_job", order=900, icon="progress"))
nav_item(NavItem(_("Users"), "user-list", "core.change_user", section="admin", order=10))
nav_item(NavItem(_("Teams"), "team-list", "core.change_team", section="admin", order=20))
nav_item(NavItem(_("Roles"), "role-list", "auth.change_group", section="admin", order=30))
nav_item(NavItem(_("Audit log"), "audit-log", "core.view_event", section="admin", order=40))
nav_item(NavItem(_("Custom fields"), "custom-field-list", "core.change_customfield", section="admin", order=50))
nav_item(NavItem(_("Tags"), "tag-list", "core.change_tag", section="admin", order=60))
