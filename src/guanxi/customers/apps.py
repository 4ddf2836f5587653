from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

VIEW_ADD_CHANGE = ("view", "add", "change")
MODELS = ("account", "contact", "lead", "contactaccount")


def _search_indexes(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """SQLite drops a table's triggers when a migration rebuilds the table: put the FTS triggers back."""
    from .search_index import search_indexes_ensure

    connection = connections[using]
    if "customers_contact" in connection.introspection.table_names():
        search_indexes_ensure(connection)


def _perms(actions: tuple[str, ...]) -> list[str]:
    return [f"customers.{action}_{model}" for model in MODELS for action in actions]


class CustomersConfig(AppConfig):
    name = "guanxi.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from guanxi.core.customfields import RecordType, record_type_register, value_display, value_normaliser
        from guanxi.core.events import event_action
        from guanxi.core.models import ADMINISTRATOR
        from guanxi.core.navigation import NavItem, nav_item
        from guanxi.core.pii import pii_fields
        from guanxi.core.roles import grant

        from . import imports

        imports.register()

        for role in ("manager", "sales", "service"):
            grant(role, *_perms(VIEW_ADD_CHANGE))
        grant("marketing", *_perms(("view",)))
        grant("analyst", *_perms(("view",)))
        grant(ADMINISTRATOR, *_perms((*VIEW_ADD_CHANGE, "delete")))
        interaction = [f"customers.{action}_interaction" for action in VIEW_ADD_CHANGE]
        for role in ("manager", "sales", "service", "marketing"):
            grant(role, *interaction)
        grant("analyst", "customers.view_interaction")
        grant(ADMINISTRATOR, *interaction, "customers.delete_interaction")
        grant("manager", "customers.view_data_quality")
        grant(
            ADMINISTRATOR,
            "customers.view_data_quality",
            "customers.view_qualityweights",
            "customers.change_qualityweights",
        )

        from . import quality  # noqa: F401  registers the recompute job kind
        from .emails import email_normalise
        from .phones import phone_display, phone_normalise

        value_normaliser("email", email_normalise)
        value_normaliser("phone", phone_normalise)
        value_display("phone", phone_display)
        place = {"province": _("Province"), "city": _("City"), "district": _("District")}
        record_type_register(
            RecordType(
                "account",
                "customers.account",
                _("Account"),
                {
                    "registration_number": _("Registration number"),
                    "industry": _("Industry"),
                    "size": _("Size"),
                    "tier": _("Tier"),
                    **place,
                    "website": _("Website"),
                },
            )
        )
        record_type_register(
            RecordType(
                "contact",
                "customers.contact",
                _("Contact"),
                {
                    "phone": _("Phone"),
                    "email": _("Email"),
                    "title": _("Job title"),
                    **place,
                    "street": _("Street address"),
                },
            )
        )
        record_type_register(
            RecordType(
                "lead",
                "customers.lead",
                _("Lead"),
                {
                    "company_name": _("Company"),
                    "phone": _("Phone"),
                    "email": _("Email"),
                    "source": _("Source"),
                    "notes": _("Notes"),
                },
            )
        )

        pii_fields("customers.contact", {"phone": "phone", "email": "email", "street": "text"})
        pii_fields("customers.lead", {"phone": "phone", "email": "email"})

        event_action("archived", pgettext_lazy("event action", "archived"))
        event_action("converted", pgettext_lazy("event action", "converted"))
        event_action("stage_changed", pgettext_lazy("event action", "stage changed"))
        event_action("completed", pgettext_lazy("event action", "completed"))
        event_action("reminded", pgettext_lazy("event action", "reminded"))
        event_action("reassigned", pgettext_lazy("event action", "reassigned"))
        event_action("unarchived", pgettext_lazy("event action", "unarchived"))

        from . import lists  # noqa: F401  (registers the contact, account and lead list views)

        post_migrate.connect(_search_indexes, sender=self, dispatch_uid="customers_search_indexes")

        nav_item(NavItem(_("Search"), "customer-search", "customers.view_contact", order=5, icon="search"))
        nav_item(
            NavItem(_("Contacts"), "contact-list", "customers.view_contact", order=10, icon="users", group="customers")
        )
        nav_item(
            NavItem(
                _("Accounts"), "account-list", "customers.view_account", order=20, icon="building", group="customers"
            )
        )
        nav_item(NavItem(_("Leads"), "lead-list", "customers.view_lead", order=30, icon="target", group="customers"))
        nav_item(NavItem(_("My tasks"), "task-list", "customers.view_interaction", order=40, icon="checkbox"))
        nav_item(
            NavItem(
                _("Data quality"),
                "data-quality",
                "customers.view_data_quality",
                order=50,
                icon="chart-bar",
                group="customers",
            )
        )
        nav_item(
            NavItem(
                _("Data-quality weights"),
                "quality-weights",
                "customers.change_qualityweights",
                section="admin",
                order=50,
            )
        )
