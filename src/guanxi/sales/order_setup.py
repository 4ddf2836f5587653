"""Wiring of the orders part of sales, called from SalesConfig.ready(): role grants, menu entries, event
labels, the order import type, its list views and tasks."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


def ready() -> None:
    from guanxi.core.events import event_action
    from guanxi.core.models import ADMINISTRATOR
    from guanxi.core.navigation import NavItem, nav_item
    from guanxi.core.roles import everyone, grant

    from . import order_demo, order_imports, order_lists, order_tasks  # noqa: F401  (they register themselves)

    for role in everyone:
        grant(role, "sales.view_taxrate")
    grant(ADMINISTRATOR, *[f"sales.{a}_{m}" for m in ("taxrate", "ordersettings") for a in ("view", "add", "change")])
    grant("manager", "sales.view_ordersettings")

    order_imports.register()

    event_action("ordered", pgettext_lazy("event action", "placed an order"))
    event_action("order_status_changed", pgettext_lazy("event action", "order status changed"))
    event_action("deactivated", pgettext_lazy("event action", "deactivated"))

    nav_item(NavItem(_("Quotes"), "quote-list", "sales.view_quote", order=64, icon="file-invoice", group="sales"))
    nav_item(NavItem(_("Orders"), "order-list", "sales.view_order", order=66, icon="shopping-cart", group="sales"))
    nav_item(NavItem(_("Products"), "product-list", "sales.view_product", order=68, icon="package", group="sales"))
    nav_item(NavItem(_("Tax rates"), "tax-rate-list", "sales.change_taxrate", section="admin", order=72))
    nav_item(
        NavItem(
            _("Customer lifecycle from orders"),
            "order-settings",
            "sales.change_ordersettings",
            section="admin",
            order=74,
        )
    )
