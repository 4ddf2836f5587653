"""Feedback test data, made through the services."""

from __future__ import annotations

import itertools
from typing import Any

from guanxi.feedback import services
from guanxi.feedback.models import FeedbackItem, RoutingRule, Survey

from ..customers import factories as customer_factories

_seq = itertools.count()


def contact(**fields: Any) -> Any:
    fields.setdefault("email", f"kehu{next(_seq)}@example.cn")
    return customer_factories.contact(**fields)


def item(*, actor: Any = None, owner: Any = None, **fields: Any) -> FeedbackItem:
    fields.setdefault("kind", "complaint")
    fields.setdefault("channel", "phone")
    fields.setdefault("text", "快递太慢了，等了一个星期才到")
    made = services.feedback_create(actor=actor or owner, **fields)
    if owner is not None and made.owner_id != owner.pk:
        made.owner, made.team = owner, owner.teams.first()
        made.save(update_fields=["owner", "team"])
    return made


def rule(**fields: Any) -> RoutingRule:
    fields.setdefault("name", f"rule {next(_seq)}")
    return RoutingRule.objects.create(**fields)


def survey(*, actor: Any, kind: str = "nps", trigger: str = "manual", **fields: Any) -> Survey:
    fields.setdefault("name", f"NPS {next(_seq)}")
    fields.setdefault("question", "")
    return services.survey_create(actor=actor, kind=kind, trigger=trigger, **fields)
