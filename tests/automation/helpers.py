"""Shared set-up of the automation tests: an administrator, a rule made through the service, dispatch."""

from __future__ import annotations

from typing import Any

from guanxi.automation import engine, services
from guanxi.automation.models import Rule
from guanxi.core.events import events_dispatch_batch


def make_rule(actor: Any, *, active: bool = True, **values: Any) -> Rule:
    values.setdefault("name", f"rule {Rule.objects.count() + 1}")
    values.setdefault("trigger", "record.created")
    values.setdefault("trigger_config", {"model": "customers.lead"})
    rule = services.rule_create(actor=actor, **values)
    if active:
        rule = services.rule_set_active(rule=rule, active=True, actor=actor)
    engine.index_invalidate()
    return rule


def dispatch() -> int:
    """Drain the outbox the way the worker does, until nothing is left."""
    engine.index_invalidate()
    total = 0
    while settled := events_dispatch_batch():
        total += settled
    return total


def group(*rows: dict[str, Any], match: str = "all") -> dict[str, Any]:
    return {"match": match, "rules": list(rows)}


def where(*groups: dict[str, Any], match: str = "all") -> dict[str, Any]:
    return {"match": match, "groups": list(groups)}
