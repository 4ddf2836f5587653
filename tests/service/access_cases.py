"""Who may open the service desk pages and API endpoints (walked by tests/test_access.py).

A ticket's scope follows its queue's team: the service agent (team East) sees East's queue tickets;
a ticket of another team's queue is "not found" for everyone but administrators.
"""

from __future__ import annotations

import itertools
from typing import Any

from ..access import ADMIN_ONLY, SIGNED_IN, Case
from ..factories import TeamFactory
from . import factories

AGENTS = frozenset(["administrator", "manager", "service"])
READERS = frozenset(["administrator", "manager", "service", "analyst"])
SETUP_READERS = frozenset(["administrator", "manager", "service", "analyst"])
_seq = itertools.count()

World = dict[str, Any]


def _queue(world: World) -> Any:
    if "service_queue" not in world:
        world["service_queue"] = factories.queue(team=world["teams"]["east"], agents=[world["users"]["service"]])
    return world["service_queue"]


def _own_ticket(world: World, user: Any) -> Any:
    """A ticket in East's queue, assigned to the user when the user works tickets (else unassigned)."""
    assignee = user if user.has_perm("service.change_ticket") else None
    ticket = factories.ticket(queue=_queue(world), email=f"c{next(_seq)}@kehu.example.cn", assignee=assignee)
    if assignee is None and not user.sees_everything and user.has_perm("service.view_ticket"):
        # an analyst (team Marketing) reads the tickets of a queue of their own team
        team = user.teams.first()
        q = factories.queue(team=team)
        ticket = factories.ticket(queue=q, email=f"c{next(_seq)}@kehu.example.cn")
    return ticket


def _own(world: World, user: Any) -> dict[str, Any]:
    return {"ticket_id": _own_ticket(world, user).pk}


def _theirs(world: World, user: Any) -> dict[str, Any]:
    other = factories.queue(team=TeamFactory())
    return {"ticket_id": factories.ticket(queue=other, email=f"x{next(_seq)}@other.example.cn").pk}


def _page(args: Any) -> Any:
    return lambda world, user: {"pk": args(world, user)["ticket_id"]}


def _attachment(world: World, user: Any) -> dict[str, Any]:
    from guanxi.service.services import Upload

    ticket = _own_ticket(world, user)
    message = ticket.messages.get()
    from guanxi.service.services import _attachments_store

    _attachments_store(message, [Upload(filename="log.txt", content=b"log", content_type="text/plain")])
    return {"pk": message.attachments.get().pk}


def _their_attachment(world: World, user: Any) -> dict[str, Any]:
    from guanxi.service.models import Ticket
    from guanxi.service.services import Upload, _attachments_store

    ticket = Ticket.objects.get(pk=_theirs(world, user)["ticket_id"])
    message = ticket.messages.get()
    _attachments_store(message, [Upload(filename="log.txt", content=b"log", content_type="text/plain")])
    return {"pk": message.attachments.get().pk}


def _calendar(world: World, user: Any) -> dict[str, Any]:
    return {"pk": factories.calendar().pk}


def _policy_body(world: World, user: Any) -> dict[str, Any]:
    return {"name": f"P{next(_seq)}", "calendar_id": factories.calendar().pk, "first_response_minutes": 30,
            "resolution_minutes": 240}  # fmt: skip


def _queue_id(world: World, user: Any) -> dict[str, Any]:
    return {"queue_id": factories.queue().pk}


def _policy_id(world: World, user: Any) -> dict[str, Any]:
    return {"policy_id": factories.policy().pk}


def _new_ticket(world: World, user: Any) -> dict[str, Any]:
    return {"subject": "无法登录 Cannot sign in", "body": "登录时报错", "email": f"n{next(_seq)}@kehu.example.cn",
            "queue_id": _queue(world).pk}  # fmt: skip


def _eml(world: World, user: Any) -> dict[str, Any]:
    return {}


PAGES = [
    Case("service-web-request", SIGNED_IN, public=True),
    Case("ticket-queue", READERS),
    Case("ticket-create", AGENTS),
    Case("service-measures", READERS),
    Case("ticket-detail", READERS, args=_page(_own), in_scope_only=_page(_theirs)),
    Case(
        "ticket-reply",
        AGENTS,
        method="POST",
        ok=302,
        args=_page(_own),
        in_scope_only=_page(_theirs),
        body=lambda w, u: {"body": "您好，已处理。", "kind": "note", "time_spent_minutes": 1},
    ),
    Case(
        "ticket-status",
        AGENTS,
        method="POST",
        ok=302,
        args=_page(_own),
        in_scope_only=_page(_theirs),
        body=lambda w, u: {"status": "open"},
    ),
    Case(
        "ticket-assign",
        AGENTS,
        method="POST",
        ok=302,
        args=_page(_own),
        in_scope_only=_page(_theirs),
        body=lambda w, u: {"priority": "high"},
    ),
    Case("ticket-attachment", READERS, args=_attachment, in_scope_only=_their_attachment),
    Case("service-settings", ADMIN_ONLY),
    Case("service-setting-create", ADMIN_ONLY, args=lambda w, u: {"kind": "queue"}),
    Case("service-setting-edit", ADMIN_ONLY, args=lambda w, u: {"kind": "policy", "pk": factories.policy().pk}),
    Case("calendar-create", ADMIN_ONLY),
    Case("calendar-detail", ADMIN_ONLY, args=_calendar),
    Case("calendar-edit", ADMIN_ONLY, args=_calendar),
    Case("calendar-load-china", ADMIN_ONLY, method="POST", ok=302, args=_calendar, body=lambda w, u: {"year": 2025}),
]

ENDPOINTS = [
    Case("GET /service/tickets", READERS),
    Case("POST /service/tickets", AGENTS, ok=201, body=_new_ticket),
    Case("GET /service/tickets/{ticket_id}", READERS, args=_own, in_scope_only=_theirs),
    Case(
        "PATCH /service/tickets/{ticket_id}",
        AGENTS,
        args=_own,
        in_scope_only=_theirs,
        body=lambda w, u: {"priority": "urgent"},
    ),
    Case("DELETE /service/tickets/{ticket_id}", ADMIN_ONLY, ok=204, args=_own),
    Case("GET /service/tickets/{ticket_id}/messages", READERS, args=_own, in_scope_only=_theirs),
    Case(
        "POST /service/tickets/{ticket_id}/reply",
        AGENTS,
        ok=201,
        args=_own,
        in_scope_only=_theirs,
        body=lambda w, u: {"body": "内部备注 internal", "kind": "note"},
    ),
    Case(
        "POST /service/tickets/{ticket_id}/status",
        AGENTS,
        args=_own,
        in_scope_only=_theirs,
        body=lambda w, u: {"status": "resolved"},
    ),
    Case(
        "POST /service/tickets/{ticket_id}/assign",
        AGENTS,
        args=_own,
        in_scope_only=_theirs,
        body=lambda w, u: {"assignee_id": None},
    ),
    Case("GET /service/stats", READERS),
    Case("POST /service/inbound-email", AGENTS, ok=422, body=_eml),
    Case("GET /service/queues", SETUP_READERS),
    Case("POST /service/queues", ADMIN_ONLY, ok=201, body=lambda w, u: {"name": f"Q{next(_seq)}"}),
    Case("PATCH /service/queues/{queue_id}", ADMIN_ONLY, args=_queue_id, body=lambda w, u: {"categories": ["账单"]}),
    Case("GET /service/policies", SETUP_READERS),
    Case("POST /service/policies", ADMIN_ONLY, ok=201, body=_policy_body),
    Case(
        "PATCH /service/policies/{policy_id}", ADMIN_ONLY, args=_policy_id, body=lambda w, u: {"warn_before_minutes": 5}
    ),
    Case("GET /service/canned-responses", AGENTS),
]

# the knowledge base declares its own cases
from .kb_access_cases import ENDPOINTS as KB_ENDPOINTS  # noqa: E402
from .kb_access_cases import PAGES as KB_PAGES  # noqa: E402

PAGES += KB_PAGES
ENDPOINTS += KB_ENDPOINTS

# --- the customer portal: its pages answer to the portal session only, so staff and visitors alike are sent
# to the portal's sign-in (302); a staff sign-in opens none of them. The staff invite/deactivate buttons are scoped.


def _portal_contact(owner: Any) -> Any:
    from ..customers import factories as customer_factories

    return customer_factories.contact(owner=owner, email=f"portal{next(_seq)}@kehu.example.cn")


def _portal_account(owner: Any) -> Any:
    from guanxi.service import portal

    return portal.portal_invite(contact=_portal_contact(owner), actor=None)


def _portal_ticket(world: World, user: Any) -> dict[str, Any]:
    return {"pk": factories.ticket(email=f"p{next(_seq)}@kehu.example.cn").pk}


PORTAL_ONLY = {"allowed": SIGNED_IN, "public": True, "ok": 302}

PAGES += [
    Case("portal-home", **PORTAL_ONLY),
    Case("portal-sign-in", SIGNED_IN, public=True),
    Case("portal-link", SIGNED_IN, public=True, ok=400, args=lambda w, u: {"token": "forged"}),
    Case("portal-sign-out", method="POST", **PORTAL_ONLY),
    Case("portal-language", method="POST", body=lambda w, u: {"language": "en"}, **PORTAL_ONLY),
    Case("portal-tickets", **PORTAL_ONLY),
    Case("portal-ticket-new", **PORTAL_ONLY),
    Case("portal-ticket", args=_portal_ticket, **PORTAL_ONLY),
    Case("portal-attachment", args=lambda w, u: {"pk": 1}, **PORTAL_ONLY),
    Case("portal-feedback", **PORTAL_ONLY),
    Case("portal-feedback-new", **PORTAL_ONLY),
    Case("portal-points", **PORTAL_ONLY),
    Case("portal-account", **PORTAL_ONLY),
    Case(
        "portal-invite",
        AGENTS,
        method="POST",
        ok=302,
        args=lambda w, u: {"contact_pk": _portal_contact(u).pk},
        in_scope_only=lambda w, u: {"contact_pk": _portal_contact(None).pk},
    ),
    Case(
        "portal-deactivate",
        AGENTS,
        method="POST",
        ok=302,
        args=lambda w, u: {"pk": _portal_account(u).pk},
        in_scope_only=lambda w, u: {"pk": _portal_account(None).pk},
    ),
]


def _account_id(owner: Any) -> Any:
    return lambda w, u: {"account_id": _portal_account(u if owner else None).pk}


ENDPOINTS += [
    Case("GET /service/portal-accounts", AGENTS),
    Case("GET /service/portal-accounts/{account_id}", AGENTS, args=_account_id(True), in_scope_only=_account_id(False)),
    Case("POST /service/portal-accounts", AGENTS, ok=201, body=lambda w, u: {"contact_id": _portal_contact(u).pk}),
    Case(
        "POST /service/portal-accounts/{account_id}/deactivate",
        AGENTS,
        args=_account_id(True),
        in_scope_only=_account_id(False),
    ),
    Case(
        "POST /service/portal-accounts/{account_id}/reactivate",
        AGENTS,
        args=_account_id(True),
        in_scope_only=_account_id(False),
    ),
]
