"""Who may open the sales pages and API endpoints (walked by tests/test_access.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from ..access import ADMIN_ONLY, Case
from ..factories import TeamFactory, UserFactory
from . import factories

# deals are read by every staff role; reps and managers work on them; administrators configure
VIEWERS = frozenset(["administrator", "manager", "sales", "service", "marketing", "analyst"])
EDITORS = frozenset(["administrator", "manager", "sales"])
_seq = itertools.count()

World = dict[str, Any]


def _outsider() -> Any:
    return UserFactory(roles=["sales"], teams=[TeamFactory()])


def _own_deal(key: str) -> Callable[[World, Any], dict[str, Any]]:
    def args(world: World, user: Any) -> dict[str, Any]:
        return {key: factories.deal(owner=user).pk}

    return args


def _their_deal(key: str) -> Callable[[World, Any], dict[str, Any]]:
    def args(world: World, user: Any) -> dict[str, Any]:
        outsider = _outsider()
        return {key: factories.deal(owner=outsider, team=outsider.teams.first()).pk}

    return args


def _pipeline(key: str = "pk") -> Callable[[World, Any], dict[str, Any]]:
    return lambda world, user: {key: factories.pipeline().pk}


def _column(world: World, user: Any) -> dict[str, Any]:
    pipeline = factories.pipeline()
    return {"pk": pipeline.pk, "stage_id": factories.stage(pipeline, 0).pk}


def _stage_of(key: str = "pk", stage_key: str = "stage_id") -> Callable[[World, Any], dict[str, Any]]:
    def args(world: World, user: Any) -> dict[str, Any]:
        pipeline = factories.pipeline()
        return {key: pipeline.pk, stage_key: factories.stage(pipeline, 1).pk}

    return args


def _deal_and_next_stage(key: str) -> Callable[[World, Any], dict[str, Any]]:
    """An own deal; the move body (set by `_moved_to`) names its pipeline's second stage."""

    def args(world: World, user: Any) -> dict[str, Any]:
        deal = factories.deal(owner=user)
        world.setdefault("_next_stage", {})[user.pk] = factories.stage(deal.pipeline, 1).pk
        return {key: deal.pk}

    return args


def _their_deal_and_next_stage(key: str) -> Callable[[World, Any], dict[str, Any]]:
    def args(world: World, user: Any) -> dict[str, Any]:
        outsider = _outsider()
        deal = factories.deal(owner=outsider, team=outsider.teams.first())
        world.setdefault("_next_stage", {})[user.pk] = factories.stage(deal.pipeline, 1).pk
        return {key: deal.pk}

    return args


def _moved_to(field: str) -> Callable[[World, Any], dict[str, Any]]:
    def body(world: World, user: Any) -> dict[str, Any]:
        return {field: world.get("_next_stage", {}).get(user.pk, 0)}

    return body


def _product_id() -> int:
    from . import order_factories

    return order_factories.product().pk


def _deal_line(deal_key: str, line_key: str, *, own: bool) -> Callable[[World, Any], dict[str, Any]]:
    """A deal (the user's own, or an outsider's) with one product line; the line id is kept for the body."""

    def args(world: World, user: Any) -> dict[str, Any]:
        from guanxi.sales import services

        owner = user if own else _outsider()
        deal = factories.deal(owner=owner, team=None if own else owner.teams.first())
        line = services.deal_line_add(deal=deal, actor=owner, product=_product_id())
        world.setdefault("_line", {})[user.pk] = line.pk
        return {deal_key: deal.pk, line_key: line.pk}

    return args


def _line_page_body(world: World, user: Any) -> dict[str, Any]:
    line = world.get("_line", {}).get(user.pk, 0)
    return {f"l{line}-product": _product_id(), f"l{line}-quantity": "2"}


def _rule_body(world: World, user: Any) -> dict[str, Any]:
    return {"applies_to": "deals", "province": f"省 {next(_seq)}", "user": user.pk}


def _rule(world: World, user: Any) -> dict[str, Any]:
    from guanxi.sales.models import AssignmentRule

    return {"pk": AssignmentRule.objects.create(user=user, province=f"省 {next(_seq)}").pk}


def _reason(world: World, user: Any) -> dict[str, Any]:
    return {"pk": factories.lost_reason(f"原因 {next(_seq)}").pk}


def _currency(world: World, user: Any) -> dict[str, Any]:
    return {"pk": factories.currency("USD").pk}


MANAGERS = frozenset(["administrator", "manager"])


def _own_lead(world: World, user: Any) -> dict[str, Any]:
    from guanxi.sales.models import AssignmentRule

    from ..customers import factories as customer_factories

    AssignmentRule.objects.get_or_create(user=user, province="", applies_to="leads")
    return {"pk": customer_factories.lead(owner=user).pk}


def _their_lead(world: World, user: Any) -> dict[str, Any]:
    from ..customers import factories as customer_factories

    outsider = _outsider()
    return {"pk": customer_factories.lead(owner=outsider, team=outsider.teams.first()).pk}


PAGES = [
    Case("lead-assign", MANAGERS, ok=302, method="POST", args=_own_lead, in_scope_only=_their_lead),
    Case("pipeline-list", VIEWERS),
    Case("pipeline-board", VIEWERS, args=_pipeline()),
    Case("board-column", VIEWERS, args=_column),
    Case("deal-list", VIEWERS),
    Case("deal-create", EDITORS),
    Case(
        "deal-create",
        EDITORS,
        ok=302,
        method="POST",
        body=lambda w, u: {"name": f"新项目 {next(_seq)}", "currency": factories.cny().pk, "amount": "1000"},
    ),
    Case("deal-detail", VIEWERS, args=_own_deal("pk"), in_scope_only=_their_deal("pk")),
    Case("deal-edit", EDITORS, args=_own_deal("pk"), in_scope_only=_their_deal("pk")),
    Case(
        "deal-move",
        EDITORS,
        ok=302,
        method="POST",
        args=_deal_and_next_stage("pk"),
        body=_moved_to("stage"),
        in_scope_only=_their_deal_and_next_stage("pk"),
    ),
    Case(
        "deal-task-add",
        EDITORS,
        ok=302,
        method="POST",
        args=_own_deal("pk"),
        body=lambda w, u: {"subject": "回电", "due_at": "2030-01-05T10:00"},
        in_scope_only=_their_deal("pk"),
    ),
    Case(
        "deal-line-add",
        EDITORS,
        ok=302,
        method="POST",
        args=_own_deal("pk"),
        body=lambda w, u: {"product": _product_id(), "quantity": "2"},
        in_scope_only=_their_deal("pk"),
    ),
    Case(
        "deal-line-update",
        EDITORS,
        ok=302,
        method="POST",
        args=_deal_line("pk", "line_id", own=True),
        body=_line_page_body,
        in_scope_only=_deal_line("pk", "line_id", own=False),
    ),
    Case(
        "deal-line-remove",
        EDITORS,
        ok=302,
        method="POST",
        args=_deal_line("pk", "line_id", own=True),
        in_scope_only=_deal_line("pk", "line_id", own=False),
    ),
    Case("sales-reports", VIEWERS),
    Case("sales-settings", ADMIN_ONLY),
    Case("pipeline-create", ADMIN_ONLY, ok=302, method="POST", body=lambda w, u: {"name": f"渠道 {next(_seq)}"}),
    Case("pipeline-stages", ADMIN_ONLY, args=_pipeline()),
    Case(
        "pipeline-update",
        ADMIN_ONLY,
        ok=302,
        method="POST",
        args=_pipeline(),
        body=lambda w, u: {"name": f"改名 {next(_seq)}", "active": "on"},
    ),
    Case(
        "stage-create",
        ADMIN_ONLY,
        ok=302,
        method="POST",
        args=_pipeline(),
        body=lambda w, u: {"new-name": "试用", "new-probability": 30, "new-kind": "open"},
    ),
    Case(
        "stage-update",
        ADMIN_ONLY,
        ok=302,
        method="POST",
        args=_stage_of(),
        body=lambda w, u: {"name": "x"},
    ),
    Case("stage-shift", ADMIN_ONLY, ok=302, method="POST", args=_stage_of(), body=lambda w, u: {"direction": "up"}),
    Case("stage-delete", ADMIN_ONLY, ok=302, method="POST", args=_stage_of()),
    Case("lost-reason-create", ADMIN_ONLY, ok=302, method="POST", body=lambda w, u: {"name": f"r {next(_seq)}"}),
    Case(
        "lost-reason-update",
        ADMIN_ONLY,
        ok=302,
        method="POST",
        args=_reason,
        body=lambda w, u: {"name": f"r {next(_seq)}", "active": "on"},
    ),
    Case(
        "currency-create",
        ADMIN_ONLY,
        ok=302,
        method="POST",
        body=lambda w, u: {"code": "GBP", "name": "Pound", "rate_to_cny": "9.1"},
    ),
    Case(
        "currency-update",
        ADMIN_ONLY,
        ok=302,
        method="POST",
        args=_currency,
        body=lambda w, u: {"code": "USD", "name": "US dollar", "rate_to_cny": "7.2", "active": "on"},
    ),
    Case("sales-stale-save", ADMIN_ONLY, ok=302, method="POST", body=lambda w, u: {"stale_after_days": 21}),
    Case("assignment-rule-create", ADMIN_ONLY, ok=302, method="POST", body=_rule_body),
    Case("assignment-rule-delete", ADMIN_ONLY, ok=302, method="POST", args=_rule),
]


def _api_deal_body(world: World, user: Any) -> dict[str, Any]:
    return {"name": f"API 项目 {next(_seq)}", "amount": "5000", "pipeline_id": factories.pipeline().pk}


ENDPOINTS = [
    Case("GET /pipelines", VIEWERS),
    Case("GET /pipelines/{pipeline_id}", VIEWERS, args=_pipeline("pipeline_id")),
    Case("POST /pipelines", ADMIN_ONLY, ok=201, body=lambda w, u: {"name": f"API 渠道 {next(_seq)}"}),
    Case(
        "PATCH /pipelines/{pipeline_id}", ADMIN_ONLY, args=_pipeline("pipeline_id"), body=lambda w, u: {"position": 3}
    ),
    Case(
        "POST /pipelines/{pipeline_id}/stages",
        ADMIN_ONLY,
        ok=201,
        args=_pipeline("pipeline_id"),
        body=lambda w, u: {"name": "试用 Trial", "probability": 30, "required_fields": ["amount"]},
    ),
    Case(
        "PATCH /pipelines/{pipeline_id}/stages/{stage_id}",
        ADMIN_ONLY,
        args=_stage_of("pipeline_id", "stage_id"),
        body=lambda w, u: {"probability": 35},
    ),
    Case("GET /lost-reasons", VIEWERS),
    Case("GET /currencies", VIEWERS),
    Case("GET /deals", VIEWERS),
    Case("GET /deals/{deal_id}", VIEWERS, args=_own_deal("deal_id"), in_scope_only=_their_deal("deal_id")),
    Case("POST /deals", EDITORS, ok=201, body=_api_deal_body),
    Case(
        "PATCH /deals/{deal_id}",
        EDITORS,
        args=_own_deal("deal_id"),
        body=lambda w, u: {"amount": "7000"},
        in_scope_only=_their_deal("deal_id"),
    ),
    Case(
        "DELETE /deals/{deal_id}",
        ADMIN_ONLY,
        ok=204,
        args=_own_deal("deal_id"),
        in_scope_only=_their_deal("deal_id"),
    ),
    Case(
        "POST /deals/{deal_id}/move",
        EDITORS,
        args=_deal_and_next_stage("deal_id"),
        body=_moved_to("stage_id"),
        in_scope_only=_their_deal_and_next_stage("deal_id"),
    ),
    Case("GET /deals/{deal_id}/lines", VIEWERS, args=_own_deal("deal_id"), in_scope_only=_their_deal("deal_id")),
    Case(
        "POST /deals/{deal_id}/lines",
        EDITORS,
        ok=201,
        args=_own_deal("deal_id"),
        body=lambda w, u: {"product_id": _product_id(), "quantity": "2"},
        in_scope_only=_their_deal("deal_id"),
    ),
    Case(
        "PATCH /deals/{deal_id}/lines/{line_id}",
        EDITORS,
        args=_deal_line("deal_id", "line_id", own=True),
        body=lambda w, u: {"quantity": "3"},
        in_scope_only=_deal_line("deal_id", "line_id", own=False),
    ),
    Case(
        "DELETE /deals/{deal_id}/lines/{line_id}",
        EDITORS,
        ok=204,
        args=_deal_line("deal_id", "line_id", own=True),
        in_scope_only=_deal_line("deal_id", "line_id", own=False),
    ),
    Case("GET /reports/funnel", VIEWERS),
    Case("GET /reports/forecast", VIEWERS),
    Case("GET /reports/won-lost", VIEWERS),
]

# --- orders part (S2): products, price lists, tax rates, quotes, orders ---
from .order_access_cases import ENDPOINTS as _ORDER_ENDPOINTS  # noqa: E402
from .order_access_cases import PAGES as _ORDER_PAGES  # noqa: E402

PAGES += _ORDER_PAGES
ENDPOINTS += _ORDER_ENDPOINTS
