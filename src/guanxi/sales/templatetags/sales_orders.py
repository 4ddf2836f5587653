"""`{% customer_purchases record %}`: the Deals, Quotes and Orders panels on a contact or account page."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()
PANEL_ROWS = 10


@register.inclusion_tag("sales/_customer_purchases.html", takes_context=True)
def customer_purchases(context: Any, record: Any) -> dict[str, Any]:
    from guanxi.customers.models import Account

    from .. import order_selectors as selectors

    user = context["request"].user
    shown: dict[str, Any] = {"record": record, "perms": context.get("perms"), "request": context["request"]}
    shown["param"] = "account" if isinstance(record, Account) else "contact"
    shown["orders"] = list(selectors.customer_orders(record=record, user=user)[:PANEL_ROWS])
    shown["quotes"] = list(selectors.customer_quotes(record=record, user=user)[:PANEL_ROWS])
    shown["deals"] = list(selectors.customer_deals(record=record, user=user)[:PANEL_ROWS])
    shown["summary"] = selectors.customer_purchase_summary(record=record, user=user)
    return shown
