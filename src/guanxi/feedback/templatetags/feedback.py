"""`{% points_panel contact as panel %}`: the balance and latest points lines, for viewers who may see them."""

from __future__ import annotations

from typing import Any

from django import template

from guanxi.feedback import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def points_panel(context: dict[str, Any], contact: Any) -> dict[str, Any] | None:
    request = context.get("request")
    if request is None or not request.user.has_perm("feedback.view_pointsentry"):
        return None
    return {"balance": selectors.points_balance(contact), "latest": list(selectors.points_ledger(contact)[:5])}
