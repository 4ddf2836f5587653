"""Feedback endpoints: items and their actions, surveys, answers, the points ledger, reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
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
from .models import Channel, FeedbackTopic, Survey

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
    active: bool
    created_at: datetime


class SurveyIn(InputSchema):
    name: str
    kind: str
    question: str = ""
    questions: list[dict[str, Any]] = []
    trigger: str = Survey.Trigger.MANUAL
    throttle_days: int = 30


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
    return {"scores": selectors.score_report(group=by), "feedback": selectors.feedback_report(user=request.user)}
