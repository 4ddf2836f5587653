"""Who may open the feedback pages and API endpoints (walked by tests/test_access.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from guanxi.core.models import Tag
from guanxi.feedback import services
from guanxi.feedback.models import FeedbackIssue, FeedbackTopic, RoutingRule, Survey, SurveySchedule

from ..access import ADMIN_ONLY, SIGNED_IN, Case
from ..factories import TeamFactory, UserFactory
from . import factories

VIEWERS = frozenset(["administrator", "manager", "sales", "service", "marketing", "analyst"])
EDITORS = frozenset(["administrator", "manager", "sales", "service"])
ISSUE_VIEWERS = frozenset(["administrator", "manager", "sales", "service", "analyst"])
SURVEY_VIEWERS = frozenset(["administrator", "manager", "marketing", "analyst"])
SURVEY_EDITORS = frozenset(["administrator", "manager", "marketing"])
REPORT_VIEWERS = frozenset(["administrator", "manager", "marketing", "analyst"])
POINTS_VIEWERS = frozenset(["administrator", "manager", "sales", "service", "marketing"])
SETTINGS_EDITORS = frozenset(["administrator", "manager"])
_seq = itertools.count()
World = dict[str, Any]
Args = Callable[[World, Any], dict[str, Any]]
_ = ADMIN_ONLY


def _outsider() -> Any:
    return UserFactory(roles=["service"], teams=[TeamFactory()])


def _own_item(key: str = "pk", **fields: Any) -> Args:
    def args(world: World, user: Any) -> dict[str, Any]:
        return {key: factories.item(owner=user, **fields).pk}

    return args


def _their_item(key: str = "pk", **fields: Any) -> Args:
    def args(world: World, user: Any) -> dict[str, Any]:
        return {key: factories.item(owner=_outsider(), **fields).pk}

    return args


def _resolved(owner: Any, *, told: bool = False) -> Any:
    item = factories.item(owner=owner)
    services.feedback_resolve(item=item, resolution="已处理", actor=owner)
    if told:
        services.feedback_notify_customer(item=item, reason="匿名", actor=owner)
    return item


def _act(action: str, make: Callable[[Any], Any]) -> Args:
    def args(world: World, user: Any) -> dict[str, Any]:
        return {"pk": make(user).pk, "action": action}

    return args


def _their_act(action: str) -> Args:
    return lambda world, user: {"pk": factories.item(owner=_outsider()).pk, "action": action}


def _contact(key: str = "pk") -> Args:
    return lambda world, user: {key: factories.contact(owner=user).pk}


def _their_contact(key: str = "pk") -> Args:
    def args(world: World, user: Any) -> dict[str, Any]:
        outsider = _outsider()
        return {key: factories.contact(owner=outsider, team=outsider.teams.first()).pk}

    return args


def _earned_contact(world: World, user: Any) -> dict[str, Any]:
    """A contact in the user's scope who has points to redeem."""
    customer = factories.contact(owner=user)
    factories.item(actor=None, channel="web_form", contact=customer)
    return {"contact_id": customer.pk, "pk": customer.pk}


def _their_earned_contact(world: World, user: Any) -> dict[str, Any]:
    outsider = _outsider()
    customer = factories.contact(owner=outsider, team=outsider.teams.first())
    factories.item(actor=None, channel="web_form", contact=customer)
    return {"contact_id": customer.pk, "pk": customer.pk}


def _issue(world: World, user: Any) -> dict[str, Any]:
    topic = FeedbackTopic.objects.get(key="quality")
    return {"pk": FeedbackIssue.objects.create(topic=topic, title=f"质量 {next(_seq)}").pk}


def _survey(key: str = "pk") -> Args:
    def args(world: World, user: Any) -> dict[str, Any]:
        return {key: Survey.objects.create(name=f"NPS {next(_seq)}", kind="nps", question="?").pk}

    return args


def _survey_token(world: World, user: Any) -> dict[str, Any]:
    survey = Survey.objects.create(name=f"NPS {next(_seq)}", kind="nps", question="?", throttle_days=0)
    invitation = services.survey_invite(survey=survey, contact=factories.contact(owner=user), actor=None)
    assert invitation is not None
    return {"token": services.survey_token(invitation)}


def _rate_token(world: World, user: Any) -> dict[str, Any]:
    return {"token": services.rating_token(_resolved(world["users"]["service"]))}


def _topic(key: str = "pk") -> Args:
    def args(world: World, user: Any) -> dict[str, Any]:
        n = next(_seq)
        return {key: FeedbackTopic.objects.create(key=f"topic-{n}", name=f"Topic {n}").pk}

    return args


def _rule(key: str = "pk") -> Args:
    def args(world: World, user: Any) -> dict[str, Any]:
        return {key: RoutingRule.objects.create(name=f"rule {next(_seq)}", owner=world["users"]["service"]).pk}

    return args


def _schedule(key: str = "pk") -> Args:
    def args(world: World, user: Any) -> dict[str, Any]:
        survey = Survey.objects.create(name=f"NPS {next(_seq)}", kind="nps", question="?")
        tag, _created = Tag.objects.get_or_create(name="VIP")
        made = SurveySchedule.objects.create(
            name=f"schedule {next(_seq)}", survey=survey, audience_tag=tag, next_run_at=timezone.now()
        )
        return {key: made.pk}

    return args


def _rule_body(world: World, user: Any) -> dict[str, Any]:
    return {"name": f"投诉 {next(_seq)}", "kind": "complaint", "owner_id": world["users"]["service"].pk}


def _schedule_body(world: World, user: Any) -> dict[str, Any]:
    survey = Survey.objects.create(name=f"NPS {next(_seq)}", kind="nps", question="?")
    return {
        "name": "月度",
        "survey_id": survey.pk,
        "audience_stage": "customer",
        "next_run_at": "2030-01-01T09:00:00+08:00",
    }


def _api(make: Args, key: str) -> Args:
    return lambda world, user: {key: make(world, user)["pk"]}


PAGES = [
    Case("feedback-list", VIEWERS),
    Case("feedback-create", EDITORS),
    Case(
        "feedback-create",
        EDITORS,
        ok=302,
        method="POST",
        body=lambda w, u: {"kind": "complaint", "channel": "phone", "text": "电话投诉：发货太慢"},
    ),
    Case("feedback-detail", VIEWERS, args=_own_item(), in_scope_only=_their_item()),
    Case(
        "feedback-act",
        EDITORS,
        ok=302,
        method="POST",
        args=_act("correct", lambda u: factories.item(owner=u)),
        body=lambda w, u: {"topic": FeedbackTopic.objects.get(key="price").pk, "sentiment": "neutral"},
        in_scope_only=_their_act("correct"),
    ),
    Case("feedback-issue-list", ISSUE_VIEWERS),
    Case("feedback-issue-detail", ISSUE_VIEWERS, args=_issue),
    Case("feedback-reports", REPORT_VIEWERS),
    Case("survey-list", SURVEY_VIEWERS),
    Case("survey-create", SURVEY_EDITORS),
    Case(
        "survey-create",
        SURVEY_EDITORS,
        ok=302,
        method="POST",
        body=lambda w, u: {"name": "满意度", "kind": "csat", "trigger": "manual", "throttle_days": 30},
    ),
    Case("survey-detail", SURVEY_VIEWERS, args=_survey()),
    Case(
        "survey-send",
        SURVEY_EDITORS,
        ok=302,
        method="POST",
        args=_survey(),
        body=lambda w, u: {"contact_ids": str(factories.contact(owner=u).pk)},
    ),
    Case("contact-points", POINTS_VIEWERS, args=_contact(), in_scope_only=_their_contact()),
    Case(
        "contact-points",
        EDITORS,
        ok=302,
        method="POST",
        args=lambda w, u: {"pk": _earned_contact(w, u)["pk"]},
        body=lambda w, u: {"points": 1, "note": "兑换小礼品"},
        in_scope_only=lambda w, u: {"pk": _their_earned_contact(w, u)["pk"]},
    ),
    Case("feedback-settings", SETTINGS_EDITORS),
    Case(
        "feedback-settings",
        SETTINGS_EDITORS,
        ok=302,
        method="POST",
        body=lambda w, u: {
            "recurring_count": 5,
            "recurring_days": 7,
            "default_response_hours": 48,
            "remind_hours_before": 4,
            "points_feedback": 10,
            "points_survey": 5,
            "points_adopted": 50,
            "survey_throttle_days": 30,
        },
    ),
    Case("feedback-topic-create", SETTINGS_EDITORS),
    Case(
        "feedback-topic-create",
        SETTINGS_EDITORS,
        ok=302,
        method="POST",
        body=lambda w, u: {"key": f"new-{next(_seq)}", "name": "New", "name_zh": "新"},
    ),
    Case("feedback-topic-edit", SETTINGS_EDITORS, args=_topic()),
    Case(
        "feedback-topic-active",
        SETTINGS_EDITORS,
        ok=302,
        method="POST",
        args=_topic(),
        body=lambda w, u: {"active": "0"},
    ),
    Case("feedback-rule-create", SETTINGS_EDITORS),
    Case("feedback-rule-edit", SETTINGS_EDITORS, args=_rule()),
    Case(
        "feedback-rule-edit",
        SETTINGS_EDITORS,
        ok=302,
        method="POST",
        args=_rule(),
        body=lambda w, u: {"name": "改", "owner": w["users"]["service"].pk, "response_hours": 12},
    ),
    Case("survey-schedule-list", SURVEY_VIEWERS),
    Case("survey-schedule-create", SURVEY_EDITORS),
    Case("survey-schedule-edit", SURVEY_EDITORS, args=_schedule()),
    Case(
        "survey-schedule-edit",
        SURVEY_EDITORS,
        ok=302,
        method="POST",
        args=_schedule(),
        body=lambda w, u: {
            "name": "季度",
            "survey": Survey.objects.create(name=f"NPS {next(_seq)}", kind="nps", question="?").pk,
            "audience_stage": "customer",
            "every_days": 91,
            "next_run_at": "2030-01-01T09:00",
        },
    ),
    Case("feedback-public", SIGNED_IN, public=True),
    Case("survey-answer", SIGNED_IN, public=True, args=_survey_token),
    Case("feedback-rate", SIGNED_IN, public=True, args=_rate_token),
]

ENDPOINTS = [
    Case("GET /feedback", VIEWERS),
    Case("GET /feedback/{item_id}", VIEWERS, args=_own_item("item_id"), in_scope_only=_their_item("item_id")),
    Case(
        "POST /feedback",
        EDITORS,
        ok=201,
        method="POST",
        body=lambda w, u: {"kind": "suggestion", "text": "Please add a dark mode to the app"},
    ),
    Case(
        "POST /feedback/{item_id}/correct",
        EDITORS,
        method="POST",
        args=_own_item("item_id"),
        body=lambda w, u: {"topic": "delivery", "sentiment": "negative"},
        in_scope_only=_their_item("item_id"),
    ),
    Case(
        "POST /feedback/{item_id}/assign",
        EDITORS,
        method="POST",
        args=_own_item("item_id"),
        body=lambda w, u: {"owner_id": u.pk},
        in_scope_only=_their_item("item_id"),
    ),
    Case(
        "POST /feedback/{item_id}/resolve",
        EDITORS,
        method="POST",
        args=_own_item("item_id"),
        body=lambda w, u: {"resolution": "已补发"},
        in_scope_only=_their_item("item_id"),
    ),
    Case(
        "POST /feedback/{item_id}/notify",
        EDITORS,
        method="POST",
        args=lambda w, u: {"item_id": _resolved(u).pk},
        body=lambda w, u: {"reason": "客户未留联系方式"},
        in_scope_only=lambda w, u: {"item_id": _resolved(_outsider()).pk},
    ),
    Case(
        "POST /feedback/{item_id}/close",
        EDITORS,
        method="POST",
        args=lambda w, u: {"item_id": _resolved(u, told=True).pk},
        in_scope_only=lambda w, u: {"item_id": _resolved(_outsider(), told=True).pk},
    ),
    Case(
        "POST /feedback/{item_id}/adopt",
        EDITORS,
        method="POST",
        args=_own_item("item_id", kind="suggestion", text="希望增加夜间模式"),
        in_scope_only=_their_item("item_id", kind="suggestion", text="希望增加夜间模式"),
    ),
    Case("GET /surveys", SURVEY_VIEWERS),
    Case(
        "POST /surveys",
        SURVEY_EDITORS,
        ok=201,
        method="POST",
        body=lambda w, u: {"name": "NPS 回访", "kind": "nps", "trigger": "resolved"},
    ),
    Case(
        "POST /surveys/{survey_id}/send",
        SURVEY_EDITORS,
        method="POST",
        args=_survey("survey_id"),
        body=lambda w, u: {"contact_ids": [factories.contact(owner=u).pk]},
    ),
    Case("GET /surveys/{survey_id}/answers", REPORT_VIEWERS, args=_survey("survey_id")),
    Case(
        "GET /contacts/{contact_id}/points",
        POINTS_VIEWERS,
        args=_contact("contact_id"),
        in_scope_only=_their_contact("contact_id"),
    ),
    Case(
        "POST /contacts/{contact_id}/points/redeem",
        EDITORS,
        ok=201,
        method="POST",
        args=lambda w, u: {"contact_id": _earned_contact(w, u)["contact_id"]},
        body=lambda w, u: {"points": 1, "note": "兑换"},
        in_scope_only=lambda w, u: {"contact_id": _their_earned_contact(w, u)["contact_id"]},
    ),
    Case("GET /feedback-reports", REPORT_VIEWERS),
    Case("GET /feedback-settings", SETTINGS_EDITORS),
    Case("PATCH /feedback-settings", SETTINGS_EDITORS, method="PATCH", body=lambda w, u: {"points_survey": 6}),
    Case("GET /feedback-topics", VIEWERS),
    Case(
        "POST /feedback-topics",
        SETTINGS_EDITORS,
        ok=201,
        method="POST",
        body=lambda w, u: {"key": f"api-{next(_seq)}", "name": "Invoices", "name_zh": "发票"},
    ),
    Case(
        "PATCH /feedback-topics/{topic_id}",
        SETTINGS_EDITORS,
        method="PATCH",
        args=_topic("topic_id"),
        body=lambda w, u: {"name": "Renamed", "active": False},
    ),
    Case("GET /feedback-routing-rules", SETTINGS_EDITORS),
    Case("POST /feedback-routing-rules", SETTINGS_EDITORS, ok=201, method="POST", body=_rule_body),
    Case(
        "PUT /feedback-routing-rules/{rule_id}", SETTINGS_EDITORS, method="PUT", args=_rule("rule_id"), body=_rule_body
    ),
    Case("GET /survey-schedules", SURVEY_VIEWERS),
    Case("POST /survey-schedules", SURVEY_EDITORS, ok=201, method="POST", body=_schedule_body),
    Case(
        "PUT /survey-schedules/{schedule_id}",
        SURVEY_EDITORS,
        method="PUT",
        args=_schedule("schedule_id"),
        body=_schedule_body,
    ),
]
