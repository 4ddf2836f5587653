"""Automation reads, each scoped to what the user may see."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from .engine import model_of
from .models import InboundWebhook, Rule, RuleRun, WebhookDelivery, WebhookSubscription
from .triggers import MODELS


def rules_visible_to(user: Any, action: str = "view") -> QuerySet[Rule]:
    """Rules with their last run and the failed runs of the last 7 days (one query for the list)."""
    week = timezone.now() - timedelta(days=7)
    return (
        Rule.objects.visible_to(user, action)
        .select_related("updated_by")
        .annotate(
            last_run_at=Max("runs__created_at", filter=Q(runs__dry_run=False)),
            failures=Count("runs", filter=Q(runs__outcome=RuleRun.Outcome.FAILED, runs__created_at__gte=week)),
        )
    )


def runs_visible_to(user: Any, *, rule: int | None = None, outcome: str = "", dry_run: bool | None = None) -> Any:
    runs = RuleRun.objects.visible_to(user).select_related("rule")
    if rule:
        runs = runs.filter(rule_id=rule)
    if outcome:
        runs = runs.filter(outcome=outcome)
    if dry_run is not None:
        runs = runs.filter(dry_run=dry_run)
    return runs.order_by("-id")


def subscriptions_visible_to(user: Any, action: str = "view") -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.visible_to(user, action)


def deliveries_visible_to(user: Any, *, subscription: int | None = None, state: str = "") -> Any:
    rows = WebhookDelivery.objects.visible_to(user).select_related("subscription")
    if subscription:
        rows = rows.filter(subscription_id=subscription)
    if state:
        rows = rows.filter(state=state)
    return rows.order_by("-id")


def inbound_visible_to(user: Any, action: str = "view") -> QuerySet[InboundWebhook]:
    return InboundWebhook.objects.visible_to(user, action)


def record_for_dry_run(user: Any, model_label: str, record_id: Any) -> Any:
    """The record a dry run is tried on, if this user may see it (None otherwise)."""
    model = model_of(model_label) if model_label in MODELS else None
    if model is None or not str(record_id or "").isdigit():
        return None
    manager: Any = model._default_manager
    rows = manager.visible_to(user) if hasattr(manager, "visible_to") else manager.none()
    return rows.filter(pk=int(record_id)).first()


def rule_problems(rule: Rule) -> list[str]:
    """What in a saved rule no longer fits (a deleted field, user, team or survey), checked as a save would."""
    from django.core.exceptions import ValidationError

    from .engine import rule_definition_check

    try:
        rule_definition_check(
            trigger=rule.trigger, trigger_config=rule.trigger_config, conditions=rule.conditions, actions=rule.actions
        )
    except ValidationError as exc:
        return [
            f"{key}: {message}" if key != "__all__" else message
            for key, messages in exc.message_dict.items()
            for message in messages
        ]
    return []


def builder_choices() -> dict[str, Any]:
    """What the rule builder offers in its lists: teams to assign to, active users, apps' deadline events."""
    from guanxi.core.models import Team, User

    from .triggers import DEADLINE_EVENTS

    return {
        "teams": [{"id": t.pk, "name": t.name} for t in Team.objects.order_by("name", "id")],
        "users": [
            {"id": u.pk, "name": str(u)} for u in User.objects.filter(is_active=True).order_by("full_name", "id")
        ],
        "deadline_events": {
            model: [{"event": action, "label": str(label)} for action, label in events.items()]
            for model, events in DEADLINE_EVENTS.items()
        },
    }
