"""Who may open the customer pages and API endpoints (walked by tests/test_access.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from guanxi.core.models import SavedView

from ..access import ADMIN_ONLY, Case
from ..factories import TeamFactory, UserFactory
from . import factories

VIEWERS = frozenset(["administrator", "manager", "sales", "service", "marketing", "analyst"])
# the data-quality page is for people who look after many records: managers (their teams) and administrators
QUALITY_VIEWERS = frozenset(["administrator", "manager"])
EDITORS = frozenset(["administrator", "manager", "sales", "service"])
# interactions are logged by everyone who talks to customers, marketing included; analysts only read them
LOGGERS = frozenset(["administrator", "manager", "sales", "service", "marketing"])
_seq = itertools.count()

World = dict[str, Any]


def _outsider() -> Any:
    """Someone in a team nobody else in the world belongs to."""
    return UserFactory(roles=["sales"], teams=[TeamFactory()])


def _own(make: Callable[..., Any], key: str) -> Callable[[World, Any], dict[str, Any]]:
    def args(world: World, user: Any) -> dict[str, Any]:
        return {key: make(owner=user).pk}

    return args


def _theirs(make: Callable[..., Any], key: str) -> Callable[[World, Any], dict[str, Any]]:
    def args(world: World, user: Any) -> dict[str, Any]:
        outsider = _outsider()
        return {key: make(owner=outsider, team=outsider.teams.first()).pk}

    return args


def _own_task(world: World, user: Any) -> dict[str, Any]:
    return {"pk": factories.task(about=factories.contact(owner=user), actor=user).pk}


def _their_task(world: World, user: Any) -> dict[str, Any]:
    outsider = _outsider()
    about = factories.contact(owner=outsider, team=outsider.teams.first())
    return {"pk": factories.task(about=about, actor=outsider).pk}


def _api(args: Callable[[World, Any], dict[str, Any]], key: str) -> Callable[[World, Any], dict[str, Any]]:
    return lambda world, user: {key: args(world, user)["pk"]}


def _call(world: World, user: Any) -> dict[str, Any]:
    return {"kind": "call", "channel": "phone", "subject": "回访 follow-up call", "duration": 5}


def _weights() -> dict[str, int]:
    from guanxi.customers.quality import weights_for

    return weights_for("contact")


def _unique_phone() -> str:
    return f"137{next(_seq):08d}"


def _own_view(key: str) -> Callable[[World, Any], dict[str, Any]]:
    def args(world: World, user: Any) -> dict[str, Any]:
        view = SavedView.objects.create(owner=user, list_name="contacts", name=f"视图 {next(_seq)}", query="sort=name")
        return {key: view.pk}

    return args


def _contacts(world: World, user: Any) -> dict[str, Any]:
    return {"list_name": "contacts"}


def _reassign_own(make: Callable[..., Any]) -> Callable[[World, Any], dict[str, Any]]:
    def body(world: World, user: Any) -> dict[str, Any]:
        return {"action": "reassign", "ids": [make(owner=user).pk], "owner_id": user.pk}

    return body


PAGES = [
    Case("customer-search", VIEWERS),
    Case("contact-list", VIEWERS),
    Case("contact-create", EDITORS),
    Case(
        "contact-create",
        EDITORS,
        ok=302,
        method="POST",
        body=lambda w, u: {"surname": "张", "given_name": "伟", "phone": _unique_phone()},
    ),
    Case(
        "contact-detail",
        VIEWERS,
        args=_own(factories.contact, "pk"),
        in_scope_only=_theirs(factories.contact, "pk"),
    ),
    Case("contact-edit", EDITORS, args=_own(factories.contact, "pk"), in_scope_only=_theirs(factories.contact, "pk")),
    Case("contact-vcard", VIEWERS, args=_own(factories.contact, "pk"), in_scope_only=_theirs(factories.contact, "pk")),
    Case("contact-duplicates", EDITORS),
    Case("contact-duplicates", EDITORS, method="POST", body=lambda w, u: {"surname": "张", "phone": "13800138000"}),
    Case("account-duplicates", EDITORS),
    Case("lead-duplicates", EDITORS),
    Case("account-list", VIEWERS),
    Case("account-create", EDITORS),
    Case(
        "account-detail",
        VIEWERS,
        args=_own(factories.account, "pk"),
        in_scope_only=_theirs(factories.account, "pk"),
    ),
    Case("account-edit", EDITORS, args=_own(factories.account, "pk"), in_scope_only=_theirs(factories.account, "pk")),
    Case("lead-list", VIEWERS),
    Case("lead-create", EDITORS),
    Case("lead-detail", VIEWERS, args=_own(factories.lead, "pk"), in_scope_only=_theirs(factories.lead, "pk")),
    Case("lead-edit", EDITORS, args=_own(factories.lead, "pk"), in_scope_only=_theirs(factories.lead, "pk")),
    Case("lead-convert", EDITORS, args=_own(factories.lead, "pk"), in_scope_only=_theirs(factories.lead, "pk")),
    Case(
        "lead-convert",
        EDITORS,
        ok=302,
        method="POST",
        args=_own(factories.lead, "pk"),
        in_scope_only=_theirs(factories.lead, "pk"),
    ),
    Case(
        "lead-interaction-log",
        LOGGERS,
        args=_own(factories.lead, "pk"),
        in_scope_only=_theirs(factories.lead, "pk"),
    ),
    Case(
        "lead-interaction-log",
        LOGGERS,
        ok=302,
        method="POST",
        body=lambda w, u: {"kind": "note", "direction": "internal", "occurred_at": "2026-01-05T10:00", "body": "备注"},
        args=_own(factories.lead, "pk"),
        in_scope_only=_theirs(factories.lead, "pk"),
    ),
    Case(
        "account-interaction-log",
        LOGGERS,
        args=_own(factories.account, "pk"),
        in_scope_only=_theirs(factories.account, "pk"),
    ),
    Case(
        "account-interaction-log",
        LOGGERS,
        ok=302,
        method="POST",
        body=lambda w, u: {"kind": "note", "direction": "internal", "occurred_at": "2026-01-05T10:00", "body": "备注"},
        args=_own(factories.account, "pk"),
        in_scope_only=_theirs(factories.account, "pk"),
    ),
    Case(
        "contact-interaction-log",
        LOGGERS,
        args=_own(factories.contact, "pk"),
        in_scope_only=_theirs(factories.contact, "pk"),
    ),
    Case(
        "contact-interaction-log",
        LOGGERS,
        ok=302,
        method="POST",
        body=lambda w, u: {"kind": "note", "direction": "internal", "occurred_at": "2026-01-05T10:00", "body": "备注"},
        args=_own(factories.contact, "pk"),
        in_scope_only=_theirs(factories.contact, "pk"),
    ),
    Case("task-list", VIEWERS),
    Case("task-complete", LOGGERS, ok=302, method="POST", args=_own_task, in_scope_only=_their_task),
    *[
        Case(
            f"{name}-archive",
            ADMIN_ONLY,
            ok=302,
            method="POST",
            args=_own(make, "pk"),
            in_scope_only=_theirs(make, "pk"),
        )
        for name, make in (("contact", factories.contact), ("account", factories.account), ("lead", factories.lead))
    ],
    Case("list-columns", VIEWERS, ok=302, method="POST", args=_contacts, body=lambda w, u: {"cols": ["name", "city"]}),
    Case(
        "saved-view-create",
        VIEWERS,
        ok=302,
        method="POST",
        args=_contacts,
        body=lambda w, u: {"name": f"我的客户 {next(_seq)}", "query": "owner=me"},
    ),
    Case("saved-view-update", VIEWERS, ok=302, method="POST", args=_own_view("pk"), body=lambda w, u: {"name": "改名"}),
    Case("saved-view-delete", VIEWERS, ok=302, method="POST", args=_own_view("pk")),
    Case("list-export", VIEWERS, ok=302, method="POST", args=_contacts, body=lambda w, u: {"format": "csv"}),
    Case(
        "list-bulk",
        EDITORS,
        ok=302,
        method="POST",
        args=_contacts,
        body=lambda w, u: {"action": "reassign", "ids": [factories.contact(owner=u).pk], "owner": u.pk},
    ),
    Case("data-quality", QUALITY_VIEWERS),
    Case("quality-recompute", ADMIN_ONLY, ok=302, method="POST"),
    Case("quality-weights", ADMIN_ONLY),
    Case(
        "quality-weights",
        ADMIN_ONLY,
        ok=302,
        method="POST",
        body=lambda w, u: {**_weights(), "phone": next(_seq) % 50 + 1},
    ),
]

ENDPOINTS = [
    Case("GET /search", VIEWERS),
    Case("GET /accounts", VIEWERS),
    Case(
        "GET /accounts/{account_id}",
        VIEWERS,
        args=_own(factories.account, "account_id"),
        in_scope_only=_theirs(factories.account, "account_id"),
    ),
    Case("POST /accounts", EDITORS, ok=201, body=lambda w, u: {"name": f"腾讯科技 {next(_seq)}"}),
    Case(
        "PATCH /accounts/{account_id}",
        EDITORS,
        args=_own(factories.account, "account_id"),
        in_scope_only=_theirs(factories.account, "account_id"),
        body=lambda w, u: {"industry": "互联网"},
    ),
    Case(
        "DELETE /accounts/{account_id}",
        ADMIN_ONLY,
        ok=204,
        args=_own(factories.account, "account_id"),
        in_scope_only=_theirs(factories.account, "account_id"),
    ),
    Case("POST /accounts/duplicates-check", EDITORS, body=lambda w, u: {"name": "腾讯科技"}),
    Case("POST /contacts/duplicates-check", EDITORS, body=lambda w, u: {"phone": "13800138000"}),
    Case("POST /leads/duplicates-check", EDITORS, body=lambda w, u: {"company_name": "字节跳动"}),
    Case("GET /contacts", VIEWERS),
    Case(
        "GET /contacts/{contact_id}",
        VIEWERS,
        args=_own(factories.contact, "contact_id"),
        in_scope_only=_theirs(factories.contact, "contact_id"),
    ),
    Case(
        "POST /contacts",
        EDITORS,
        ok=201,
        body=lambda w, u: {"surname": "张", "given_name": "伟", "phone": _unique_phone()},
    ),
    Case(
        "PATCH /contacts/{contact_id}",
        EDITORS,
        args=_own(factories.contact, "contact_id"),
        in_scope_only=_theirs(factories.contact, "contact_id"),
        body=lambda w, u: {"title": "采购经理"},
    ),
    Case(
        "DELETE /contacts/{contact_id}",
        ADMIN_ONLY,
        ok=204,
        args=_own(factories.contact, "contact_id"),
        in_scope_only=_theirs(factories.contact, "contact_id"),
    ),
    Case("GET /leads", VIEWERS),
    Case(
        "GET /leads/{lead_id}",
        VIEWERS,
        args=_own(factories.lead, "lead_id"),
        in_scope_only=_theirs(factories.lead, "lead_id"),
    ),
    Case("POST /leads", EDITORS, ok=201, body=lambda w, u: {"company_name": f"字节跳动 {next(_seq)}"}),
    Case(
        "PATCH /leads/{lead_id}",
        EDITORS,
        args=_own(factories.lead, "lead_id"),
        in_scope_only=_theirs(factories.lead, "lead_id"),
        body=lambda w, u: {"status": "working"},
    ),
    Case(
        "DELETE /leads/{lead_id}",
        ADMIN_ONLY,
        ok=204,
        args=_own(factories.lead, "lead_id"),
        in_scope_only=_theirs(factories.lead, "lead_id"),
    ),
    Case(
        "POST /leads/{lead_id}/convert",
        EDITORS,
        args=_own(factories.lead, "lead_id"),
        in_scope_only=_theirs(factories.lead, "lead_id"),
        body=lambda w, u: {},
    ),
    Case(
        "GET /contacts/{contact_id}/interactions",
        VIEWERS,
        args=_own(factories.contact, "contact_id"),
        in_scope_only=_theirs(factories.contact, "contact_id"),
    ),
    Case(
        "POST /contacts/{contact_id}/interactions",
        LOGGERS,
        ok=201,
        args=_own(factories.contact, "contact_id"),
        in_scope_only=_theirs(factories.contact, "contact_id"),
        body=_call,
    ),
    Case(
        "GET /accounts/{account_id}/interactions",
        VIEWERS,
        args=_own(factories.account, "account_id"),
        in_scope_only=_theirs(factories.account, "account_id"),
    ),
    Case(
        "POST /accounts/{account_id}/interactions",
        LOGGERS,
        ok=201,
        args=_own(factories.account, "account_id"),
        in_scope_only=_theirs(factories.account, "account_id"),
        body=_call,
    ),
    Case(
        "GET /leads/{lead_id}/interactions",
        VIEWERS,
        args=_own(factories.lead, "lead_id"),
        in_scope_only=_theirs(factories.lead, "lead_id"),
    ),
    Case(
        "POST /leads/{lead_id}/interactions",
        LOGGERS,
        ok=201,
        args=_own(factories.lead, "lead_id"),
        in_scope_only=_theirs(factories.lead, "lead_id"),
        body=_call,
    ),
    Case(
        "GET /contacts/{contact_id}/timeline",
        VIEWERS,
        args=_own(factories.contact, "contact_id"),
        in_scope_only=_theirs(factories.contact, "contact_id"),
    ),
    Case("GET /tasks", VIEWERS),
    Case("GET /data-quality", QUALITY_VIEWERS),
    Case("GET /data-quality/weights", ADMIN_ONLY),
    Case(
        "PUT /data-quality/weights/{record_type}",
        ADMIN_ONLY,
        args=lambda w, u: {"record_type": "lead"},
        body=lambda w, u: {"weights": {"notes": next(_seq) % 50 + 1}},
    ),
    Case("POST /data-quality/recompute", ADMIN_ONLY, ok=202, body=lambda w, u: {"record_types": ["lead"]}),
    Case(
        "POST /tasks/{task_id}/complete",
        LOGGERS,
        args=_api(_own_task, "task_id"),
        in_scope_only=_api(_their_task, "task_id"),
    ),
    *[
        case
        for kind, make in (("contacts", factories.contact), ("accounts", factories.account), ("leads", factories.lead))
        for case in (
            Case(f"POST /{kind}/bulk", EDITORS, body=_reassign_own(make)),
            Case(
                f"POST /{kind}/export", VIEWERS, ok=202, body=lambda w, u: {"format": "xlsx", "query": "sort=-created"}
            ),
        )
    ],
    Case("GET /saved-views", VIEWERS),
    Case(
        "POST /saved-views",
        VIEWERS,
        ok=201,
        body=lambda w, u: {"list_name": "leads", "name": f"新线索 {next(_seq)}", "query": "status=new"},
    ),
    Case("PATCH /saved-views/{view_id}", VIEWERS, args=_own_view("view_id"), body=lambda w, u: {"is_default": True}),
    Case("DELETE /saved-views/{view_id}", VIEWERS, ok=204, args=_own_view("view_id")),
]
