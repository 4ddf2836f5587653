"""`{% portal_access contact as access %}`: the contact's portal account, for staff who may invite customers."""

from __future__ import annotations

from typing import Any

from django import template

from guanxi.service import portal

register = template.Library()


@register.simple_tag(takes_context=True)
def portal_access(context: dict[str, Any], contact: Any) -> dict[str, Any] | None:
    request = context.get("request")
    if request is None or contact is None or not portal.staff_can_manage(request.user):
        return None
    return {
        "account": portal.account_for_contact(contact),
        "can_deactivate": request.user.has_perm("service.change_portalaccount"),
    }
