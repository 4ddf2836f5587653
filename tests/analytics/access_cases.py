"""Who may open the analytics pages and API endpoints (walked by tests/test_access.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from typing import Any

from guanxi.analytics.models import CustomerScore, Segment

from ..access import Case
from ..customers import factories as customer_factories
from ..factories import TeamFactory, UserFactory

READERS = frozenset(["administrator", "manager", "sales", "service", "marketing", "analyst"])
RUNNERS = frozenset(["administrator", "manager", "analyst"])
SPEND_READERS = frozenset(["administrator", "manager", "marketing", "analyst"])
SPEND_EDITORS = frozenset(["administrator", "marketing"])
TASK_MAKERS = frozenset(["administrator", "manager", "sales", "service", "marketing"])
_seq = itertools.count()

World = dict[str, Any]


def _scored(owner: Any, team: Any = None) -> CustomerScore:
    contact = customer_factories.contact(owner=owner, team=team)
    return CustomerScore.objects.create(period=date(2026, 1, 31), contact=contact, segment=Segment.NEW, orders=1)


def _outsider_score() -> CustomerScore:
    outsider = UserFactory(roles=["sales"], teams=[TeamFactory()])
    return _scored(outsider, outsider.teams.first())


def _own_profile(key: str) -> Callable[[World, Any], dict[str, Any]]:
    return lambda world, user: {"kind": "contact", key: _scored(user).contact_id}


def _their_profile(key: str) -> Callable[[World, Any], dict[str, Any]]:
    return lambda world, user: {"kind": "contact", key: _outsider_score().contact_id}


def _spend(world: World, user: Any) -> dict[str, Any]:
    return {"channel": "web", "month": f"2025-{next(_seq) % 12 + 1:02d}", "amount": "1200.50"}


PAGES = [
    Case("analytics-dashboard", READERS),
    Case("analytics-drill", READERS, args=lambda w, u: {"code": "revenue"}),
    Case("analytics-export", READERS, args=lambda w, u: {"code": "aov"}),
    Case("analytics-refresh", RUNNERS, ok=302, method="POST"),
    Case("analytics-subscribe", READERS, ok=302, method="POST", body=lambda w, u: {"role": "executive"}),
    Case("analytics-customers", READERS),
    Case(
        "analytics-task",
        TASK_MAKERS,
        ok=302,
        method="POST",
        args=lambda w, u: {"pk": _scored(u).pk},
        in_scope_only=lambda w, u: {"pk": _outsider_score().pk},
    ),
    Case("analytics-profile", READERS, args=_own_profile("pk"), in_scope_only=_their_profile("pk")),
    Case("analytics-spend", SPEND_READERS),
    Case("analytics-spend", SPEND_EDITORS, ok=302, method="POST", body=_spend),
    Case("analytics-widget-export", READERS, args=lambda w, u: {"widget": "numbers"}),
    Case("analytics-pdf", READERS),
    Case("analytics-journey", READERS),
]

ENDPOINTS = [
    Case("GET /analytics/kpis", READERS),
    Case("GET /analytics/kpis/{code}", READERS, args=lambda w, u: {"code": "revenue"}),
    Case(
        "GET /analytics/profiles/{kind}/{customer_id}",
        READERS,
        args=_own_profile("customer_id"),
        in_scope_only=_their_profile("customer_id"),
    ),
    Case("GET /analytics/segments", READERS),
    Case("GET /analytics/scores", READERS),
    Case("GET /analytics/acquisition-spend", SPEND_READERS),
    Case("POST /analytics/acquisition-spend", SPEND_EDITORS, ok=201, body=_spend),
    Case("GET /analytics/dashboards/{role}", READERS, args=lambda w, u: {"role": "executive"}),
]
