"""Feedback endpoints: items and their actions, surveys, answers, the points ledger, reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from guanxi.api.pagination import PageNumbers
from guanxi.api.schemas import InputSchema
from guanxi.core.http import AuthedRequest
from guanxi.core.selectors import users_visible_to
from guanxi.customers import selectors as customer_selectors

from . import selectors, services
from .models import Channel, FeedbackTopic, RoutingRule, Survey, SurveySchedule

router = Router(tags=["feedback"])


def require_perm(request: AuthedRequest, *perms: str) -> None:
    if not request.user.has_perms(perms):
        raise PermissionDenied


class FeedbackOut(Schema):
    id: int
    kind: str
    channel: str
    text: str
    language: str
    contact_id: int | None
    account_id: int | None
    lead_id: int | None
    related_kind: str
    related_id: int | None
    topic: str | None
    topic_suggested: str | None
    topic_confidence: float
    sentiment: str
    sentiment_suggested: str
    sentiment_confidence: float
    severity: str
    status: str
    owner_id: int | None
    team_id: int | None
    response_due_at: datetime | None
    first_response_at: datetime | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    resolution: str
    customer_notified_at: datetime | None
    no_notification_reason: str
    customer_satisfied: bool | None
    closed_at: datetime | None
    adopted_at: datetime | None
    issue_id: int | None
    created_at: datetime

    @staticmethod
    def resolve_topic(obj: Any) -> str | None:
        return obj.topic.key if obj.topic else None

    @staticmethod
    def resolve_topic_suggested(obj: Any) -> str | None:
        return obj.topic_suggested.key if obj.topic_suggested_id else None


class FeedbackIn(InputSchema):
    kind: str
    text: str
    channel: str = Channel.API
    contact_id: int | None = None
    account_id: int | None = None
    severity: str = ""
    language: str = ""
    related_kind: str = ""
    related_id: int | None = None


class CorrectIn(InputSchema):
    topic: str
    sentiment: str


class AssignIn(InputSchema):
    owner_id: int


class ResolveIn(InputSchema):
    resolution: str


class NotifyIn(InputSchema):
    reason: str = ""


def _item(request: AuthedRequest, item_id: int, action: str = "view") -> Any:
    require_perm(request, f"feedback.{action}_feedbackitem")
    return get_object_or_404(selectors.feedback_visible_to(request.user, action), pk=item_id)


@router.get("/feedback", response=list[FeedbackOut])
@paginate(PageNumbers)
def feedback_list(request: AuthedRequest, status: str = "", kind: str = "", topic: str = "") -> Any:
    require_perm(request, "feedback.view_feedbackitem")
    rows = selectors.feedback_visible_to(request.user).select_related("topic_suggested").order_by("-created_at", "-id")
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    if topic:
        rows = rows.filter(topic__key=topic)
    return rows


@router.get("/feedback/{item_id}", response=FeedbackOut)
def feedback_detail(request: AuthedRequest, item_id: int) -> Any:
    return _item(request, item_id)


@router.post("/feedback", response={201: FeedbackOut})
def feedback_create(request: AuthedRequest, body: FeedbackIn) -> Any:
    require_perm(request, "feedback.add_feedbackitem")
    contact = account = None
    if body.contact_id:
        contact = customer_selectors.contacts_visible_to(request.user).filter(pk=body.contact_id).first()
        if contact is None:
            raise ValidationError({"contact_id": _("No such contact in your scope.")})
    if body.account_id:
        account = customer_selectors.accounts_visible_to(request.user).filter(pk=body.account_id).first()
        if account is None:
            raise ValidationError({"account_id": _("No such account in your scope.")})
    item = services.feedback_create(
        kind=body.kind,
        channel=body.channel,
        text=body.text,
        contact=contact,
        account=account,
        severity=body.severity,
        language=body.language,
        related_kind=body.related_kind,
        related_id=body.related_id,
        actor=request.user,
    )
    return Status(201, item)


@router.post("/feedback/{item_id}/correct", response=FeedbackOut)
def feedback_correct(request: AuthedRequest, item_id: int, body: CorrectIn) -> Any:
    item = _item(request, item_id, "change")
    topic = FeedbackTopic.objects.filter(key=body.topic).first()
    return services.feedback_correct(item=item, topic=topic, sentiment=body.sentiment, actor=request.user)


@router.post("/feedback/{item_id}/assign", response=FeedbackOut)
def feedback_assign(request: AuthedRequest, item_id: int, body: AssignIn) -> Any:
    item = _item(request, item_id, "change")
    owner = users_visible_to(request.user).filter(pk=body.owner_id, is_active=True).first()
    if owner is None:
        raise ValidationError({"owner_id": _("No such user.")})
    return services.feedback_assign(item=item, owner=owner, actor=request.user)


@router.post("/feedback/{item_id}/resolve", response=FeedbackOut)
def feedback_resolve(request: AuthedRequest, item_id: int, body: ResolveIn) -> Any:
    item = _item(request, item_id, "change")
    return services.feedback_resolve(item=item, resolution=body.resolution, actor=request.user)


@router.post("/feedback/{item_id}/notify", response=FeedbackOut)
def feedback_notify(request: AuthedRequest, item_id: int, body: NotifyIn) -> Any:
    item = _item(request, item_id, "change")
    return services.feedback_notify_customer(item=item, reason=body.reason, actor=request.user)


@router.post("/feedback/{item_id}/close", response=FeedbackOut)
def feedback_close(request: AuthedRequest, item_id: int) -> Any:
    item = _item(request, item_id, "change")
    return services.feedback_close(item=item, actor=request.user)


@router.post("/feedback/{item_id}/adopt", response=FeedbackOut)
def feedback_adopt(request: AuthedRequest, item_id: int) -> Any:
    item = _item(request, item_id, "change")
    return services.feedback_adopt(item=item, actor=request.user)


# --- surveys ----------------------------------------------------------------------------------


class SurveyOut(Schema):
    id: int
    name: str
    kind: str
    question: str
    questions: list[dict[str, Any]]
    trigger: str
    throttle_days: int
    onboarding_days: int
    active: bool
    created_at: datetime


class SurveyIn(InputSchema):
    name: str
    kind: str
    question: str = ""
    questions: list[dict[str, Any]] = []
    trigger: str = Survey.Trigger.MANUAL
    throttle_days: int = 30
    onboarding_days: int = 7


class SendIn(InputSchema):
    contact_ids: list[int]


class SendOut(Schema):
    sent: int
    skipped: int


class AnswerOut(Schema):
    id: int
    survey_id: int
    kind: str
    contact_id: int | None
    score: int | None
    text: str
    answers: dict[str, Any]
    channel: str
    team_id: int | None
    agent_id: int | None
    product_id: int
    created_at: datetime


@router.get("/surveys", response=list[SurveyOut])
@paginate(PageNumbers)
def survey_list(request: AuthedRequest) -> Any:
    require_perm(request, "feedback.view_survey")
    return Survey.objects.order_by("-created_at", "-id")


@router.post("/surveys", response={201: SurveyOut})
def survey_create(request: AuthedRequest, body: SurveyIn) -> Any:
    require_perm(request, "feedback.add_survey")
    return Status(201, services.survey_create(actor=request.user, **body.dict()))


@router.post("/surveys/{survey_id}/send", response=SendOut)
def survey_send(request: AuthedRequest, survey_id: int, body: SendIn) -> Any:
    require_perm(request, "feedback.change_survey")
    survey = get_object_or_404(Survey, pk=survey_id)
    contacts = customer_selectors.contacts_visible_to(request.user).filter(pk__in=body.contact_ids)
    return services.survey_send(survey=survey, contacts=contacts, actor=request.user)


@router.get("/surveys/{survey_id}/answers", response=list[AnswerOut])
@paginate(PageNumbers)
def survey_answers(request: AuthedRequest, survey_id: int) -> Any:
    require_perm(request, "feedback.view_surveyanswer")
    survey = get_object_or_404(Survey, pk=survey_id)
    return survey.answers.order_by("-created_at", "-id")


# --- points and reports -----------------------------------------------------------------------


class PointsOut(Schema):
    id: int
    points: int
    reason: str
    source_kind: str
    source_id: int | None
    note: str
    created_at: datetime


class LedgerOut(Schema):
    balance: int
    entries: list[PointsOut]


class RedeemIn(InputSchema):
    points: int
    note: str


@router.get("/contacts/{contact_id}/points", response=LedgerOut)
def contact_points(request: AuthedRequest, contact_id: int) -> Any:
    require_perm(request, "feedback.view_pointsentry")
    contact = get_object_or_404(customer_selectors.contacts_visible_to(request.user), pk=contact_id)
    return {"balance": selectors.points_balance(contact), "entries": list(selectors.points_ledger(contact)[:200])}


@router.post("/contacts/{contact_id}/points/redeem", response={201: PointsOut})
def contact_points_redeem(request: AuthedRequest, contact_id: int, body: RedeemIn) -> Any:
    require_perm(request, "feedback.add_pointsentry")
    contact = get_object_or_404(customer_selectors.contacts_visible_to(request.user), pk=contact_id)
    return Status(201, services.points_redeem(contact=contact, points=body.points, note=body.note, actor=request.user))


@router.get("/feedback-reports")
def reports(request: AuthedRequest, by: str = "channel") -> Any:
    require_perm(request, "feedback.view_surveyanswer")
    if by not in selectors.GROUPS:
        raise ValidationError({"by": _("Group by channel, team, agent or product.")})
    return {
        "scores": selectors.score_report(group=by),
        "feedback": selectors.feedback_report(user=request.user, group=by),
    }


# --- settings: policy, topics, routing rules; survey schedules -----------------------------------

SETTINGS_PERM = "feedback.change_feedbacksettings"


class SettingsOut(Schema):
    recurring_count: int
    recurring_days: int
    default_response_hours: int
    remind_hours_before: int
    points_feedback: int
    points_survey: int
    points_adopted: int
    survey_throttle_days: int


class SettingsPatch(InputSchema):
    recurring_count: int | None = None
    recurring_days: int | None = None
    default_response_hours: int | None = None
    remind_hours_before: int | None = None
    points_feedback: int | None = None
    points_survey: int | None = None
    points_adopted: int | None = None
    survey_throttle_days: int | None = None


@router.get("/feedback-settings", response=SettingsOut)
def settings_get(request: AuthedRequest) -> Any:
    require_perm(request, SETTINGS_PERM)
    return services.feedback_settings()


@router.patch("/feedback-settings", response=SettingsOut)
def settings_patch(request: AuthedRequest, body: SettingsPatch) -> Any:
    require_perm(request, SETTINGS_PERM)
    return services.feedback_settings_save(actor=request.user, **body.dict(exclude_none=True))


class TopicOut(Schema):
    id: int
    key: str
    name: str
    name_zh: str
    active: bool


class TopicIn(InputSchema):
    key: str
    name: str
    name_zh: str = ""


class TopicPatch(InputSchema):
    name: str | None = None
    name_zh: str | None = None
    active: bool | None = None


@router.get("/feedback-topics", response=list[TopicOut])
def topics_list(request: AuthedRequest) -> Any:
    require_perm(request, "feedback.view_feedbackitem")
    return list(FeedbackTopic.objects.order_by("key"))


@router.post("/feedback-topics", response={201: TopicOut})
def topic_create(request: AuthedRequest, body: TopicIn) -> Any:
    require_perm(request, SETTINGS_PERM)
    return Status(201, services.topic_save(actor=request.user, key=body.key, name=body.name, name_zh=body.name_zh))


@router.patch("/feedback-topics/{topic_id}", response=TopicOut)
def topic_update(request: AuthedRequest, topic_id: int, body: TopicPatch) -> Any:
    require_perm(request, SETTINGS_PERM)
    topic = get_object_or_404(FeedbackTopic, pk=topic_id)
    with transaction.atomic():
        if body.name is not None or body.name_zh is not None:
            name = body.name if body.name is not None else topic.name
            name_zh = body.name_zh if body.name_zh is not None else topic.name_zh
            topic = services.topic_save(actor=request.user, topic=topic, name=name, name_zh=name_zh)
        if body.active is not None:
            topic = services.topic_set_active(actor=request.user, topic=topic, active=body.active)
    return topic


class RuleOut(Schema):
    id: int
    name: str
    kind: str
    severity: str
    tier: str
    owner_id: int | None
    team_id: int | None
    response_hours: int
    active: bool


class RuleIn(InputSchema):
    name: str
    kind: str = ""
    severity: str = ""
    tier: str = ""
    owner_id: int | None = None
    team_id: int | None = None
    response_hours: int = 24
    active: bool = True


def _rule_fields(body: RuleIn) -> dict[str, Any]:
    from guanxi.core.models import Team, User

    data = body.dict()
    owner_id, team_id = data.pop("owner_id"), data.pop("team_id")
    data["owner"] = User.objects.filter(pk=owner_id).first() if owner_id else None
    data["team"] = Team.objects.filter(pk=team_id).first() if team_id else None
    if owner_id and data["owner"] is None:
        raise ValidationError({"owner_id": _("No such user.")})
    if team_id and data["team"] is None:
        raise ValidationError({"team_id": _("No such team.")})
    return data


@router.get("/feedback-routing-rules", response=list[RuleOut])
def rules_list(request: AuthedRequest) -> Any:
    require_perm(request, SETTINGS_PERM)
    return list(RoutingRule.objects.order_by("id"))


@router.post("/feedback-routing-rules", response={201: RuleOut})
def rule_create(request: AuthedRequest, body: RuleIn) -> Any:
    require_perm(request, SETTINGS_PERM)
    return Status(201, services.routing_rule_save(actor=request.user, **_rule_fields(body)))


@router.put("/feedback-routing-rules/{rule_id}", response=RuleOut)
def rule_update(request: AuthedRequest, rule_id: int, body: RuleIn) -> Any:
    require_perm(request, SETTINGS_PERM)
    rule = get_object_or_404(RoutingRule, pk=rule_id)
    return services.routing_rule_save(actor=request.user, rule=rule, **_rule_fields(body))


class ScheduleOut(Schema):
    id: int
    name: str
    survey_id: int
    audience_tag_id: int | None
    audience_stage: str
    audience_tier: str
    every_days: int
    next_run_at: datetime
    last_run_at: datetime | None
    last_sent: int
    last_skipped: int
    active: bool


class ScheduleIn(InputSchema):
    name: str
    survey_id: int
    audience_tag_id: int | None = None
    audience_stage: str = ""
    audience_tier: str = ""
    every_days: int = 30
    next_run_at: datetime
    active: bool = True


def _schedule_fields(body: ScheduleIn) -> dict[str, Any]:
    from guanxi.core.models import Tag

    data = body.dict()
    survey_id, tag_id = data.pop("survey_id"), data.pop("audience_tag_id")
    data["survey"] = Survey.objects.filter(pk=survey_id).first()
    data["audience_tag"] = Tag.objects.filter(pk=tag_id).first() if tag_id else None
    if tag_id and data["audience_tag"] is None:
        raise ValidationError({"audience_tag_id": _("No such tag.")})
    return data


@router.get("/survey-schedules", response=list[ScheduleOut])
def schedules_list(request: AuthedRequest) -> Any:
    require_perm(request, "feedback.view_survey")
    return list(SurveySchedule.objects.order_by("next_run_at", "id"))


@router.post("/survey-schedules", response={201: ScheduleOut})
def schedule_create(request: AuthedRequest, body: ScheduleIn) -> Any:
    require_perm(request, "feedback.change_survey")
    return Status(201, services.survey_schedule_save(actor=request.user, **_schedule_fields(body)))


@router.put("/survey-schedules/{schedule_id}", response=ScheduleOut)
def schedule_update(request: AuthedRequest, schedule_id: int, body: ScheduleIn) -> Any:
    require_perm(request, "feedback.change_survey")
    schedule = get_object_or_404(SurveySchedule, pk=schedule_id)
    return services.survey_schedule_save(actor=request.user, schedule=schedule, **_schedule_fields(body))
