"""Who may open the duplicate pages and API endpoints (walked by tests/test_access.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..access import ADMIN_ONLY, Case
from ..customers import factories as cf
from ..factories import TeamFactory, UserFactory
from . import factories

# reviewing and merging duplicates: administrators and managers; undo and settings: administrators
REVIEWERS = frozenset(["administrator", "manager"])
World = dict[str, Any]


def _own_cluster(key: str) -> Callable[[World, Any], dict[str, Any]]:
    def args(world: World, user: Any) -> dict[str, Any]:
        a, b = cf.contact(owner=user), cf.contact(owner=user)
        cluster = factories.cluster(a, b)
        world["dedupe_survivor"] = f"contact:{a.pk}"
        return {key: cluster.pk}

    return args


def _their_cluster(key: str) -> Callable[[World, Any], dict[str, Any]]:
    def args(world: World, user: Any) -> dict[str, Any]:
        outsider = UserFactory(roles=["sales"], teams=[TeamFactory()])
        team = outsider.teams.first()
        a, b = cf.contact(owner=outsider, team=team), cf.contact(owner=outsider, team=team)
        world["dedupe_survivor"] = f"contact:{a.pk}"
        return {key: factories.cluster(a, b).pk}

    return args


def _own_merge(key: str) -> Callable[[World, Any], dict[str, Any]]:
    def args(world: World, user: Any) -> dict[str, Any]:
        from guanxi.dedupe.services import records_merge

        admin = world["users"]["administrator"]
        a, b = cf.contact(owner=admin), cf.contact(owner=admin)
        return {key: records_merge(survivor=a, others=[b], field_choices={}, actor=admin).pk}

    return args


def _merge_form(world: World, user: Any) -> dict[str, Any]:
    return {"survivor": world.get("dedupe_survivor", "")}


def _merge_body(world: World, user: Any) -> dict[str, Any]:
    return {"survivor": world.get("dedupe_survivor", "contact:1"), "field_choices": {}}


def _settings(world: World, user: Any) -> dict[str, Any]:
    return {"auto_merge_threshold": "", "review_threshold": "0.8", "schedule_enabled": "on", "schedule_hour": "3"}


PAGES = [
    Case("dedupe-queue", REVIEWERS),
    Case("dedupe-cluster", REVIEWERS, args=_own_cluster("pk"), in_scope_only=_their_cluster("pk")),
    Case(
        "dedupe-cluster-merge",
        REVIEWERS,
        ok=302,
        method="POST",
        args=_own_cluster("pk"),
        in_scope_only=_their_cluster("pk"),
        body=_merge_form,
    ),
    Case(
        "dedupe-cluster-dismiss",
        REVIEWERS,
        ok=302,
        method="POST",
        args=_own_cluster("pk"),
        in_scope_only=_their_cluster("pk"),
    ),
    Case("dedupe-merges", REVIEWERS),
    Case("dedupe-merge-undo", ADMIN_ONLY, ok=302, method="POST", args=_own_merge("pk")),
    Case("dedupe-settings", ADMIN_ONLY),
    Case("dedupe-settings", ADMIN_ONLY, ok=302, method="POST", body=_settings),
]

ENDPOINTS = [
    Case("GET /dedupe/clusters", REVIEWERS),
    Case(
        "GET /dedupe/clusters/{cluster_id}",
        REVIEWERS,
        args=_own_cluster("cluster_id"),
        in_scope_only=_their_cluster("cluster_id"),
    ),
    Case(
        "POST /dedupe/clusters/{cluster_id}/merge",
        REVIEWERS,
        ok=201,
        args=_own_cluster("cluster_id"),
        in_scope_only=_their_cluster("cluster_id"),
        body=_merge_body,
    ),
    Case(
        "POST /dedupe/clusters/{cluster_id}/dismiss",
        REVIEWERS,
        args=_own_cluster("cluster_id"),
        in_scope_only=_their_cluster("cluster_id"),
    ),
    Case("GET /dedupe/merges", REVIEWERS),
    Case("POST /dedupe/merges/{merge_id}/undo", ADMIN_ONLY, args=_own_merge("merge_id")),
]

# the engine's part: "Run now" and the runs API (kept apart from the review pages' cases)
PAGES += [
    Case("dedupe-run", REVIEWERS, ok=302, method="POST"),
]
ENDPOINTS += [
    Case("POST /dedupe/runs", REVIEWERS, ok=202, body=lambda w, u: {"kind": "auto"}),
    Case("GET /dedupe/runs", REVIEWERS),
]
