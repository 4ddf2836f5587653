"""Feedback writes: create (classify, route, reward), correct, assign, resolve, notify, close, rate, adopt;
deadline reminders and escalation; recurring-topic issues; surveys, invitations and answers; points."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.core.events import field_changes, record_event, snapshot
from guanxi.core.models import User
from guanxi.core.services import notification_send
from guanxi.customers.models import Account, Contact, Lead, LifecycleStage

from . import classifier
from .models import (
    Channel,
    FeedbackIssue,
    FeedbackItem,
    FeedbackSettings,
    FeedbackTopic,
    Kind,
    PointsEntry,
    RoutingRule,
    ScoreDaily,
    ScoreDailyProduct,
    ScoreMonthlyProduct,
    Sentiment,
    Severity,
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveySchedule,
)
from .related import related_kinds

RATE_SALT = "guanxi.feedback.rate"
SURVEY_SALT = "guanxi.feedback.survey"
LINK_MAX_AGE = 60 * 24 * 3600  # an emailed link works for 60 days
MAX_TEXT = 5000
OPEN = (FeedbackItem.Status.NEW, FeedbackItem.Status.ASSIGNED, FeedbackItem.Status.IN_PROGRESS)


def feedback_settings() -> FeedbackSettings:
    policy, _created = FeedbackSettings.objects.get_or_create(pk=1)
    return policy


def site_url(path: str) -> str:
    return getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/") + path


# --- points -----------------------------------------------------------------------------------


def points_balance(contact: Contact) -> int:
    """The sum of a customer's ledger."""
    return PointsEntry.objects.filter(contact=contact).aggregate(total=Sum("points"))["total"] or 0


def _points_award(
    *, contact: Contact | None, reason: str, points: int, source: Any, actor: Any, note: str = ""
) -> PointsEntry | None:
    """Award once per (customer, reason, source); a second award for the same source is ignored."""
    if contact is None or points == 0:
        return None
    kind = source._meta.label_lower
    if PointsEntry.objects.filter(contact=contact, reason=reason, source_kind=kind, source_id=source.pk).exists():
        return None
    try:
        with transaction.atomic():
            entry = PointsEntry.objects.create(
                contact=contact,
                points=points,
                reason=reason,
                source_kind=kind,
                source_id=source.pk,
                note=note[:200],
                actor=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:  # the same award written at the same moment by another request
        return None
    record_event(obj=contact, action="points_awarded", actor=actor, data={"points": points, "reason": reason})
    return entry


@transaction.atomic
def points_redeem(*, contact: Contact, points: int, note: str, actor: User) -> PointsEntry:
    """Record a redemption: a negative ledger line, refused beyond the balance."""
    if points <= 0:
        raise ValidationError({"points": _("Redeem a positive number of points.")})
    if not note.strip():
        raise ValidationError({"note": _("Say what the points were redeemed for.")})
    Contact.objects.select_for_update().filter(pk=contact.pk).first()  # one redemption at a time per customer
    balance = points_balance(contact)
    if points > balance:
        raise ValidationError({"points": _("Only %(balance)d points are available.") % {"balance": balance}})
    entry = PointsEntry.objects.create(
        contact=contact, points=-points, reason=PointsEntry.Reason.REDEMPTION, note=note.strip()[:200], actor=actor
    )
    record_event(obj=contact, action="points_redeemed", actor=actor, data={"points": points, "note": entry.note})
    return entry


# --- create, classify, route ------------------------------------------------------------------


def _topic(key: str) -> FeedbackTopic | None:
    """The topic the classifier named; a starting topic missing from the table is put back."""
    topic = FeedbackTopic.objects.filter(key=key).first()
    if topic is None:
        from .seed_topics import TOPICS

        names = {k: (name, name_zh) for k, name, name_zh in TOPICS}
        if key in names:
            topic, _created = FeedbackTopic.objects.get_or_create(
                key=key, defaults={"name": names[key][0], "name_zh": names[key][1]}
            )
    return topic


def routing_rule_for(*, kind: str, severity: str, tier: str) -> RoutingRule | None:
    """The active rule that matches kind, severity and tier; blank fields match anything; most specific wins."""
    matches = [
        rule
        for rule in RoutingRule.objects.filter(active=True).select_related("owner", "team")
        if (not rule.kind or rule.kind == kind)
        and (not rule.severity or rule.severity == severity)
        and (not rule.tier or rule.tier == tier)
    ]
    return max(matches, key=lambda r: (r.specificity, -r.pk), default=None)


def _tier_of(contact: Contact | None, account: Account | None) -> str:
    if account is not None:
        return account.tier
    if contact is not None:
        link = contact.links.select_related("account").first()
        return link.account.tier if link else ""
    return ""


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PUBLIC_POINTS_EVERY = timedelta(days=1)  # an unsigned-in form earns one customer feedback points once a day


def plain_text(text: str) -> str:
    """Any script and emoji are kept; control characters (NUL breaks PostgreSQL text) are dropped."""
    return CONTROL.sub("", text or "").strip()


def _clean_text(text: str) -> str:
    text = plain_text(text)
    if not text:
        raise ValidationError({"text": _("Write the feedback.")})
    if len(text) > MAX_TEXT:
        raise ValidationError({"text": _("Keep the feedback under %(max)d characters.") % {"max": MAX_TEXT}})
    return text


@transaction.atomic
def feedback_create(
    *,
    kind: str,
    channel: str,
    text: str,
    actor: Any,
    contact: Contact | None = None,
    account: Account | None = None,
    lead: Lead | None = None,
    submitter_name: str = "",
    submitter_email: str = "",
    language: str = "",
    severity: str = "",
    related_kind: str = "",
    related_id: int | None = None,
    award_points: bool = True,
) -> FeedbackItem:
    """Record feedback from any channel: classify it, route it to an owner with a deadline, award points."""
    text = _clean_text(text)
    if kind not in Kind.values:
        raise ValidationError({"kind": _("Choose complaint, suggestion, praise or question.")})
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    if severity and severity not in Severity.values:
        raise ValidationError({"severity": _("Unknown severity.")})
    if related_kind and related_kind not in related_kinds():
        raise ValidationError({"related_kind": _("Unknown kind of related record.")})
    if related_kind and not related_id:
        raise ValidationError({"related_id": _("Give the id of the related record.")})
    resolve = related_kinds()[related_kind].resolve if related_kind else None
    if resolve is not None and related_id and resolve(related_id) is None:
        raise ValidationError({"related_id": _("There is no such related record.")})
    languages = dict(settings.LANGUAGES)
    language = language if language in languages else (translation.get_language() or settings.LANGUAGE_CODE)
    if language not in languages:
        language = settings.LANGUAGE_CODE
    suggestion = classifier.classify(
        text, topics=set(FeedbackTopic.objects.filter(active=True).values_list("key", flat=True))
    )
    topic = _topic(suggestion.topic)
    if not severity:
        negative = suggestion.sentiment == Sentiment.NEGATIVE
        severity = Severity.HIGH if kind == Kind.COMPLAINT and negative else Severity.NORMAL
    now = timezone.now()
    policy = feedback_settings()
    rule = routing_rule_for(kind=kind, severity=severity, tier=_tier_of(contact, account))
    owner = rule.owner if rule and rule.owner else None
    team = rule.team if rule and rule.team else None
    if owner is None and getattr(actor, "is_authenticated", False) and channel in (Channel.PHONE, Channel.VISIT):
        owner = actor  # the agent who logged a call or visit looks after it unless a rule says otherwise
    if team is None and owner is not None:
        team = owner.teams.order_by("id").first()
    hours = rule.response_hours if rule else policy.default_response_hours
    item = FeedbackItem.objects.create(
        kind=kind,
        channel=channel,
        text=text,
        language=language,
        contact=contact,
        account=account,
        lead=lead,
        submitter_name=submitter_name.strip()[:130],
        submitter_email=submitter_email.strip()[:254],
        related_kind=related_kind,
        related_id=related_id if related_kind else None,
        topic=topic,
        topic_suggested=topic,
        topic_confidence=suggestion.topic_confidence,
        sentiment=suggestion.sentiment,
        sentiment_suggested=suggestion.sentiment,
        sentiment_confidence=suggestion.sentiment_confidence,
        severity=severity,
        status=FeedbackItem.Status.ASSIGNED if owner else FeedbackItem.Status.NEW,
        owner=owner,
        team=team,
        response_due_at=now + timedelta(hours=hours),
    )
    event = record_event(
        obj=item,
        action="created",
        actor=actor,
        data={
            "channel": channel,
            "kind": kind,
            "topic": suggestion.topic,
            "sentiment": suggestion.sentiment,
            "rule": rule.pk if rule else None,
            "owner": owner.pk if owner else None,
        },
    )
    if owner is not None and owner != actor:
        notification_send(
            recipient=owner,
            title=gettext_noop("New feedback assigned to you: #%(id)s"),
            params={"id": item.pk},
            url=item.get_absolute_url(),
            event=event,
        )
    if award_points and actor is None and channel in (Channel.WEB_FORM, Channel.PORTAL) and contact is not None:
        # the public form matches the customer by the email typed in: one award a day, so it cannot be farmed
        award_points = not PointsEntry.objects.filter(
            contact=contact, reason=PointsEntry.Reason.FEEDBACK, created_at__gte=now - PUBLIC_POINTS_EVERY
        ).exists()
    if award_points:
        _points_award(
            contact=contact, reason=PointsEntry.Reason.FEEDBACK, points=policy.points_feedback, source=item, actor=actor
        )
    _recurring_check(item=item, actor=actor, policy=policy)
    return item


def _managers() -> list[User]:
    return list(User.objects.filter(is_active=True, groups__name="manager").distinct())


def _recurring_check(*, item: FeedbackItem, actor: Any, policy: FeedbackSettings) -> FeedbackIssue | None:
    """N items of one topic within the period become (or join) one open issue escalated to the managers."""
    if item.topic is None or item.topic.key == "other":
        return None
    open_issue = FeedbackIssue.objects.filter(topic=item.topic, status=FeedbackIssue.Status.OPEN).first()
    if open_issue is not None:
        FeedbackItem.objects.filter(pk=item.pk).update(issue=open_issue)
        item.issue = open_issue
        return open_issue
    since = timezone.now() - timedelta(days=policy.recurring_days)
    similar = FeedbackItem.objects.filter(topic=item.topic, created_at__gte=since, issue__isnull=True)
    if similar.count() < policy.recurring_count:
        return None
    issue = FeedbackIssue.objects.create(
        topic=item.topic,
        title=_("Recurring: %(topic)s") % {"topic": item.topic.name},
        escalated_at=timezone.now(),
        team=item.team,
    )
    count = similar.update(issue=issue)
    item.issue = issue
    event = record_event(obj=issue, action="escalated", actor=actor, data={"items": count, "topic": item.topic.key})
    for manager in _managers():
        notification_send(
            recipient=manager,
            title=gettext_noop("Recurring feedback: %(count)s items about “%(topic)s”"),
            params={"count": count, "topic": item.topic.name},
            url=issue.get_absolute_url(),
            event=event,
        )
    return issue


@transaction.atomic
def feedback_correct(*, item: FeedbackItem, topic: FeedbackTopic | None, sentiment: str, actor: User) -> FeedbackItem:
    """Staff set the right topic and sentiment; the corrections train the organisation's classifier."""
    if sentiment not in Sentiment.values:
        raise ValidationError({"sentiment": _("Choose negative, neutral or positive.")})
    if topic is None:
        raise ValidationError({"topic": _("Choose a topic.")})
    changes = {}
    if item.topic_id != topic.pk:
        changes["topic"] = [item.topic.key if item.topic else None, topic.key]
    if item.sentiment != sentiment:
        changes["sentiment"] = [item.sentiment, sentiment]
    item.topic, item.sentiment, item.corrected_at = topic, sentiment, timezone.now()
    item.save(update_fields=["topic", "sentiment", "corrected_at", "updated_at"])
    record_event(obj=item, action="classified", actor=actor, changes=changes)
    return item


def _status(item: FeedbackItem, status: str, actor: Any, **data: Any) -> None:
    before = item.status
    item.status = status
    item.save()
    record_event(obj=item, action="status_changed", actor=actor, changes={"status": [before, status]}, data=data)


@transaction.atomic
def feedback_assign(*, item: FeedbackItem, owner: User, actor: User) -> FeedbackItem:
    """Give the item to a member of staff (their first team comes with it)."""
    if item.status == FeedbackItem.Status.CLOSED:
        raise ValidationError({"owner": _("This feedback is closed.")})
    before = item.owner_id
    item.owner, item.team = owner, owner.teams.order_by("id").first() or item.team
    if item.status == FeedbackItem.Status.NEW:
        item.status = FeedbackItem.Status.ASSIGNED
    item.save()
    event = record_event(obj=item, action="reassigned", actor=actor, changes={"owner": [before, owner.pk]})
    if owner != actor:
        notification_send(
            recipient=owner,
            title=gettext_noop("New feedback assigned to you: #%(id)s"),
            params={"id": item.pk},
            url=item.get_absolute_url(),
            event=event,
        )
    return item


@transaction.atomic
def feedback_start(*, item: FeedbackItem, actor: User) -> FeedbackItem:
    """The owner starts work: the first response is stamped."""
    if item.status not in (FeedbackItem.Status.NEW, FeedbackItem.Status.ASSIGNED):
        raise ValidationError({"status": _("Only new or assigned feedback can be started.")})
    item.first_response_at = item.first_response_at or timezone.now()
    _status(item, FeedbackItem.Status.IN_PROGRESS, actor)
    return item


@transaction.atomic
def feedback_resolve(*, item: FeedbackItem, resolution: str, actor: User) -> FeedbackItem:
    """Record what was done. The resolution text is required."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationError({"resolution": _("Describe what was done before resolving.")})
    if item.status not in OPEN:
        raise ValidationError({"status": _("Only open feedback can be resolved.")})
    now = timezone.now()
    item.resolution, item.resolved_at = resolution[:MAX_TEXT], now
    item.first_response_at = item.first_response_at or now
    _status(item, FeedbackItem.Status.RESOLVED, actor)
    return item


def customer_email(item: FeedbackItem) -> str:
    if item.contact and item.contact.email:
        return item.contact.email
    return item.submitter_email


def rating_token(item: FeedbackItem) -> str:
    return signing.dumps({"f": item.pk}, salt=RATE_SALT)


@transaction.atomic
def feedback_notify_customer(*, item: FeedbackItem, actor: User, reason: str = "") -> FeedbackItem:
    """Tell the customer what was done (email in their language, with a link to rate it), or record why not."""
    if item.status != FeedbackItem.Status.RESOLVED:
        raise ValidationError({"status": _("Resolve the feedback before telling the customer.")})
    reason = reason.strip()
    if reason:
        item.no_notification_reason = reason[:300]
        item.save(update_fields=["no_notification_reason", "updated_at"])
        record_event(obj=item, action="not_notified", actor=actor, data={"reason": item.no_notification_reason})
        return item
    address = customer_email(item)
    if not address:
        raise ValidationError(
            {"reason": _("This customer has no email address: record why they cannot be told instead.")}
        )
    link = site_url(reverse("feedback-rate", args=[rating_token(item)]))
    with translation.override(item.language):
        subject = _("Your feedback #%(id)s has been resolved") % {"id": item.pk}
        body = _(
            "Thank you for your feedback:\n\n%(text)s\n\nWhat we did:\n%(resolution)s\n\n"
            "Are you satisfied with this? Tell us here: %(link)s"
        ) % {"text": item.text, "resolution": item.resolution, "link": link}
    send_mail(subject, body, None, [address])
    item.customer_notified_at = timezone.now()
    item.save(update_fields=["customer_notified_at", "updated_at"])
    record_event(
        obj=item, action="customer_notified", actor=actor, data={"channel": "email", "language": item.language}
    )
    return item


@transaction.atomic
def feedback_close(*, item: FeedbackItem, actor: User) -> FeedbackItem:
    """Close the loop: refused without a resolution and a customer notification (or a reason why none)."""
    if not item.resolution:
        raise ValidationError({"resolution": _("Record the resolution before closing.")})
    if not item.customer_notified_at and not item.no_notification_reason:
        raise ValidationError(
            {"customer_notified_at": _("Tell the customer what was done, or record why that is not possible.")}
        )
    if item.status == FeedbackItem.Status.CLOSED:
        raise ValidationError({"status": _("This feedback is already closed.")})
    item.closed_at = timezone.now()
    _status(item, FeedbackItem.Status.CLOSED, actor)
    return item


def item_from_rating_token(token: str) -> FeedbackItem:
    try:
        data = signing.loads(token, salt=RATE_SALT, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ValidationError({"token": _("This link has expired.")}) from exc
    except signing.BadSignature as exc:
        raise ValidationError({"token": _("This link is not valid.")}) from exc
    item = FeedbackItem.objects.filter(pk=data.get("f")).first()
    if item is None:
        raise ValidationError({"token": _("This link is not valid.")})
    return item


@transaction.atomic
def feedback_rate(*, token: str, satisfied: bool) -> FeedbackItem:
    """The customer says (once) whether the resolution satisfied them, from the signed link."""
    item = item_from_rating_token(token)
    item = FeedbackItem.objects.select_for_update().get(pk=item.pk)
    if item.rated_at is not None:
        raise ValidationError({"token": _("You have already rated this resolution. Thank you!")})
    if item.resolved_at is None:
        raise ValidationError({"token": _("This feedback has not been resolved yet.")})
    item.customer_satisfied, item.rated_at = satisfied, timezone.now()
    item.save(update_fields=["customer_satisfied", "rated_at", "updated_at"])
    record_event(obj=item, action="rated", actor=None, data={"satisfied": satisfied})
    return item


@transaction.atomic
def feedback_adopt(*, item: FeedbackItem, actor: User) -> FeedbackItem:
    """Mark a suggestion as adopted; the customer earns the adoption points once."""
    if item.kind != Kind.SUGGESTION:
        raise ValidationError({"kind": _("Only suggestions can be adopted.")})
    if item.adopted_at:
        raise ValidationError({"kind": _("This suggestion is already adopted.")})
    item.adopted_at = timezone.now()
    item.save(update_fields=["adopted_at", "updated_at"])
    record_event(obj=item, action="adopted", actor=actor)
    _points_award(
        contact=item.contact,
        reason=PointsEntry.Reason.ADOPTED,
        points=feedback_settings().points_adopted,
        source=item,
        actor=actor,
    )
    return item


def feedback_deadlines_check(*, now: Any = None) -> int:
    """Remind owners before the deadline and escalate to the team manager (or managers) after it; idempotent."""
    now = now or timezone.now()
    policy = feedback_settings()
    done = 0
    soon = FeedbackItem.objects.filter(
        status__in=OPEN,
        owner__isnull=False,
        reminded_at__isnull=True,
        response_due_at__gt=now,
        response_due_at__lte=now + timedelta(hours=policy.remind_hours_before),
    )
    for item_id in soon.values_list("pk", flat=True):
        with transaction.atomic():
            item = FeedbackItem.objects.select_for_update(of=("self",)).select_related("owner").get(pk=item_id)
            if item.reminded_at is not None:
                continue
            item.reminded_at = now
            item.save(update_fields=["reminded_at"])
            event = record_event(obj=item, action="reminded", actor=None)
            assert item.owner is not None
            notification_send(
                recipient=item.owner,
                title=gettext_noop("Feedback #%(id)s is due soon"),
                params={"id": item.pk},
                url=item.get_absolute_url(),
                event=event,
            )
            done += 1
    late = FeedbackItem.objects.filter(status__in=OPEN, escalated_at__isnull=True, response_due_at__lte=now)
    for item_id in late.values_list("pk", flat=True):
        with transaction.atomic():
            item = FeedbackItem.objects.select_for_update(of=("self",)).select_related("team__manager").get(pk=item_id)
            if item.escalated_at is not None:
                continue
            item.escalated_at = now
            item.save(update_fields=["escalated_at"])
            event = record_event(obj=item, action="escalated", actor=None)
            recipients = [item.team.manager] if item.team and item.team.manager else _managers()
            for manager in recipients:
                notification_send(
                    recipient=manager,
                    title=gettext_noop("Feedback #%(id)s is past its response deadline"),
                    params={"id": item.pk},
                    url=item.get_absolute_url(),
                    event=event,
                )
            done += 1
    return done


# --- surveys ----------------------------------------------------------------------------------


def _clean_questions(questions: Any) -> list[dict[str, Any]]:
    if not isinstance(questions, list):
        raise ValidationError({"questions": _("Questions must be a list.")})
    cleaned = []
    for n, q in enumerate(questions, start=1):
        if not isinstance(q, dict) or not str(q.get("label", "")).strip():
            raise ValidationError({"questions": _("Question %(n)d needs a label.") % {"n": n}})
        kind = q.get("type", "text")
        if kind not in ("text", "scale"):
            raise ValidationError({"questions": _("Question %(n)d: the type is text or scale.") % {"n": n}})
        item: dict[str, Any] = {"key": f"q{n}", "label": str(q["label"]).strip()[:200], "type": kind}
        if kind == "scale":
            low, high = int(q.get("min", 1)), int(q.get("max", 5))
            if low >= high:
                raise ValidationError(
                    {"questions": _("Question %(n)d: the scale's minimum must be below its maximum.") % {"n": n}}
                )
            item.update(min=low, max=high)
        cleaned.append(item)
    return cleaned


@transaction.atomic
def survey_create(
    *,
    name: str,
    kind: str,
    question: str,
    actor: User,
    questions: list[dict[str, Any]] | None = None,
    trigger: str = Survey.Trigger.MANUAL,
    throttle_days: int = 30,
    onboarding_days: int = 7,
) -> Survey:
    """Define a survey: its kind fixes the score scale (CSAT 1–5, NPS 0–10, CES 1–7; custom has none)."""
    if not name.strip():
        raise ValidationError({"name": _("Give the survey a name.")})
    if kind not in Survey.SurveyKind.values:
        raise ValidationError({"kind": _("Choose CSAT, NPS, CES or custom.")})
    if trigger not in Survey.Trigger.values:
        raise ValidationError({"trigger": _("Unknown trigger.")})
    cleaned = _clean_questions(questions or [])
    if kind == Survey.SurveyKind.CUSTOM and not cleaned:
        raise ValidationError({"questions": _("A custom survey needs at least one question.")})
    if throttle_days < 0 or throttle_days > 3650:
        raise ValidationError({"throttle_days": _("Use 0 to 3650 days.")})
    if onboarding_days < 0 or onboarding_days > 3650:
        raise ValidationError({"onboarding_days": _("Use 0 to 3650 days.")})
    survey = Survey.objects.create(
        name=name.strip()[:150],
        kind=kind,
        question=question.strip()[:300] or default_question(kind),
        questions=cleaned,
        trigger=trigger,
        throttle_days=throttle_days,
        onboarding_days=onboarding_days,
    )
    record_event(obj=survey, action="created", actor=actor, data={"kind": kind, "trigger": trigger})
    return survey


def default_question(kind: str) -> str:
    return {
        "nps": gettext_noop("How likely are you to recommend us to a friend or colleague?"),
        "csat": gettext_noop("How satisfied are you with our service?"),
        "ces": gettext_noop("How easy was it to get what you needed?"),
    }.get(kind, "")


def survey_token(invitation: SurveyInvitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=SURVEY_SALT)


def survey_throttled(*, contact: Contact, days: int, now: Any = None) -> bool:
    """Whether this customer was surveyed within the last `days` days (by any survey)."""
    if days <= 0:
        return False
    since = (now or timezone.now()) - timedelta(days=days)
    return SurveyInvitation.objects.filter(contact=contact, created_at__gte=since).exists()


def survey_pause_days(survey: Survey) -> int:
    """The throttle for this survey: its own pause or the organisation's, whichever is longer."""
    return max(survey.throttle_days, feedback_settings().survey_throttle_days)


def survey_invite(
    *,
    survey: Survey,
    contact: Contact,
    actor: Any,
    language: str = "",
    source_event_id: int | None = None,
    source_key: str = "",
    channel: str = "",
    team: Any = None,
    agent: Any = None,
    product_id: int = 0,
) -> SurveyInvitation | None:
    """Email one customer a signed, single-use link; None when throttled, inactive, without an email, or when
    this event or key (a scheduled run, the onboarding trigger) already sent it."""
    if not survey.active or not contact.email:
        return None
    if source_event_id and SurveyInvitation.objects.filter(survey=survey, source_event_id=source_event_id).exists():
        return None
    if source_key and SurveyInvitation.objects.filter(survey=survey, contact=contact, source_key=source_key).exists():
        return None
    if survey_throttled(contact=contact, days=survey_pause_days(survey)):
        return None
    language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    with transaction.atomic():  # a failed email leaves no invitation behind
        try:
            with transaction.atomic():
                invitation = SurveyInvitation.objects.create(
                    survey=survey,
                    contact=contact,
                    email=contact.email,
                    language=language,
                    nonce=secrets.token_hex(16),
                    source_event_id=source_event_id,
                    source_key=source_key[:60],
                    channel=channel,
                    team=team,
                    agent=agent,
                    product_id=product_id or 0,
                    sent_at=timezone.now(),
                )
        except IntegrityError:  # the same event or run handled at the same moment by another worker
            return None
        link = site_url(reverse("survey-answer", args=[survey_token(invitation)]))
        with translation.override(language):
            subject = _("A quick question from us: %(survey)s") % {"survey": survey.name}
            body = _("%(question)s\n\nAnswer here (one minute, no sign-in needed): %(link)s") % {
                "question": _(survey.question),
                "link": link,
            }
        send_mail(subject, body, None, [contact.email])
        record_event(obj=survey, action="sent", actor=actor, data={"contact": contact.pk, "invitation": invitation.pk})
    return invitation


def survey_send(*, survey: Survey, contacts: Any, actor: User) -> dict[str, int]:
    """Send a survey to a list of customers (already scoped to the sender); throttled ones are skipped."""
    if not survey.active:
        raise ValidationError({"survey": _("This survey is switched off.")})
    sent = skipped = 0
    for contact in contacts:
        if survey_invite(survey=survey, contact=contact, actor=actor, agent=actor):
            sent += 1
        else:
            skipped += 1
    return {"sent": sent, "skipped": skipped}


def invitation_from_token(token: str) -> SurveyInvitation:
    """The invitation a survey link names, or a clear refusal for forged, expired or replayed links."""
    try:
        data = signing.loads(token, salt=SURVEY_SALT, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ValidationError({"token": _("This survey link has expired.")}) from exc
    except signing.BadSignature as exc:
        raise ValidationError({"token": _("This survey link is not valid.")}) from exc
    invitation = (
        SurveyInvitation.objects.select_related("survey", "contact")
        .filter(pk=data.get("i"), nonce=data.get("n"))
        .first()
    )
    if invitation is None:
        raise ValidationError({"token": _("This survey link is not valid.")})
    if invitation.answered_at is not None:
        raise ValidationError({"token": _("This survey has already been answered. Thank you!")})
    return invitation


def detractor(kind: str, score: int | None) -> bool:
    """NPS 0–6, CSAT 1–2 and CES 1–2 (hard to get help) open a follow-up."""
    if score is None:
        return False
    return (kind == "nps" and score <= 6) or (kind in ("csat", "ces") and score <= 2)


@transaction.atomic
def survey_answer(
    *, token: str, score: int | None, text: str = "", answers: dict[str, Any] | None = None
) -> SurveyAnswer:
    """Record the one answer to an invitation; award points; a detractor opens a follow-up feedback item."""
    invitation = invitation_from_token(token)
    invitation = (
        SurveyInvitation.objects.select_for_update(of=("self",))
        .select_related("survey", "contact")
        .get(pk=invitation.pk)
    )
    if invitation.answered_at is not None:
        raise ValidationError({"token": _("This survey has already been answered. Thank you!")})
    survey = invitation.survey
    bounds = survey.score_range
    if bounds is not None:
        if score is None:
            raise ValidationError({"score": _("Choose a score.")})
        if not bounds[0] <= score <= bounds[1]:
            raise ValidationError(
                {"score": _("The score must be from %(low)d to %(high)d.") % {"low": bounds[0], "high": bounds[1]}}
            )
    else:
        score = None
    text = plain_text(text)
    if len(text) > MAX_TEXT:
        raise ValidationError({"text": _("Keep the comment under %(max)d characters.") % {"max": MAX_TEXT}})
    given = answers or {}
    cleaned: dict[str, Any] = {}
    for q in survey.questions:
        value = given.get(q["key"])
        if value in (None, ""):
            continue
        if q["type"] == "scale":
            try:
                number = int(value)
            except (TypeError, ValueError) as exc:
                raise ValidationError({q["key"]: _("Give a number.")}) from exc
            if not q["min"] <= number <= q["max"]:
                raise ValidationError(
                    {q["key"]: _("The score must be from %(low)d to %(high)d.") % {"low": q["min"], "high": q["max"]}}
                )
            cleaned[q["key"]] = number
        else:
            cleaned[q["key"]] = plain_text(str(value))[:2000]
    if survey.kind == Survey.SurveyKind.CUSTOM and not cleaned and not text:
        raise ValidationError({"answers": _("Answer at least one question.")})
    now = timezone.now()
    answer = SurveyAnswer.objects.create(
        invitation=invitation,
        survey=survey,
        kind=survey.kind,
        contact=invitation.contact,
        score=score,
        text=text,
        answers=cleaned,
        channel=invitation.channel,
        team=invitation.team,
        agent=invitation.agent,
        product_id=invitation.product_id,
        created_at=now,
    )
    invitation.answered_at = now
    invitation.save(update_fields=["answered_at"])
    score_rollup_add(answer)
    record_event(obj=survey, action="answered", actor=None, data={"invitation": invitation.pk, "score": score})
    _points_award(
        contact=invitation.contact,
        reason=PointsEntry.Reason.SURVEY,
        points=feedback_settings().points_survey,
        source=answer,
        actor=None,
    )
    if detractor(survey.kind, score):
        with translation.override(invitation.language):
            follow_up = text or _("%(survey)s: score %(score)d") % {"survey": survey.name, "score": score}
        feedback_create(
            kind=Kind.COMPLAINT,
            channel=Channel.SURVEY,
            text=follow_up,
            actor=None,
            contact=invitation.contact,
            language=invitation.language,
            severity=Severity.HIGH,
            award_points=False,
        )
    elif text:
        feedback_create(
            kind=Kind.SUGGESTION,
            channel=Channel.SURVEY,
            text=text,
            actor=None,
            contact=invitation.contact,
            language=invitation.language,
            award_points=False,
        )
    return answer


def score_rollup_add(answer: SurveyAnswer) -> None:
    """Count one scored answer in its day's rollup row (inside the answer's transaction)."""
    if answer.score is None:
        return
    key: dict[str, Any] = {
        "day": timezone.localdate(answer.created_at),
        "kind": answer.kind,
        "score": answer.score,
        "channel": answer.channel,
        "team_id": answer.team_id or 0,
        "agent_id": answer.agent_id or 0,
    }
    row, _created = ScoreDaily.objects.get_or_create(**key)
    ScoreDaily.objects.filter(pk=row.pk).update(count=F("count") + 1)
    if answer.product_id:
        product_key = {"day": key["day"], "kind": answer.kind, "score": answer.score, "product_id": answer.product_id}
        product_row, _created = ScoreDailyProduct.objects.get_or_create(**product_key)
        ScoreDailyProduct.objects.filter(pk=product_row.pk).update(count=F("count") + 1)
        month_key = {**product_key, "month": key["day"].replace(day=1)}
        del month_key["day"]
        month_row, _created = ScoreMonthlyProduct.objects.get_or_create(**month_key)
        ScoreMonthlyProduct.objects.filter(pk=month_row.pk).update(count=F("count") + 1)


@transaction.atomic
def score_rollup_rebuild() -> int:
    """Recount the daily rollup from every answer (after a bulk load); returns how many rollup rows."""
    ScoreDaily.objects.all().delete()
    groups: Any = (
        SurveyAnswer.objects.filter(score__isnull=False)
        .annotate(day=TruncDate("created_at"))
        .values("day", "kind", "score", "channel", "team_id", "agent_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = [
        ScoreDaily(
            day=g["day"],
            kind=g["kind"],
            score=g["score"],
            channel=g["channel"],
            team_id=g["team_id"] or 0,
            agent_id=g["agent_id"] or 0,
            count=g["n"],
        )
        for g in groups.iterator(chunk_size=5000)
    ]
    ScoreDaily.objects.bulk_create(rows, batch_size=2000)
    ScoreDailyProduct.objects.all().delete()
    by_product: Any = (
        SurveyAnswer.objects.filter(score__isnull=False, product_id__gt=0)
        .annotate(day=TruncDate("created_at"))
        .values("day", "kind", "score", "product_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    ScoreDailyProduct.objects.bulk_create(
        (
            ScoreDailyProduct(day=g["day"], kind=g["kind"], score=g["score"], product_id=g["product_id"], count=g["n"])
            for g in by_product.iterator(chunk_size=5000)
        ),
        batch_size=2000,
    )
    score_monthly_product_rebuild()
    return len(rows)


def score_monthly_product_rebuild() -> None:
    """Recount the monthly product rollup from the daily one."""
    ScoreMonthlyProduct.objects.all().delete()
    months: Any = (
        ScoreDailyProduct.objects.annotate(month=TruncMonth("day"))
        .values("month", "kind", "score", "product_id")
        .annotate(n=Sum("count"))
        .order_by()
    )
    ScoreMonthlyProduct.objects.bulk_create(
        (
            ScoreMonthlyProduct(
                month=g["month"], kind=g["kind"], score=g["score"], product_id=g["product_id"], count=g["n"]
            )
            for g in months.iterator(chunk_size=5000)
        ),
        batch_size=2000,
    )


# --- settings: policy, topics, routing rules ---------------------------------------------------

SETTINGS_LIMITS: dict[str, tuple[int, int]] = {
    "points_feedback": (0, 100000),
    "points_survey": (0, 100000),
    "points_adopted": (0, 100000),
    "recurring_count": (2, 1000),
    "recurring_days": (1, 365),
    "remind_hours_before": (0, 720),
    "default_response_hours": (1, 8760),
    "survey_throttle_days": (0, 3650),
}


@transaction.atomic
def feedback_settings_save(*, actor: User, **fields: Any) -> FeedbackSettings:
    """Change the feedback policy: points amounts, the recurring-topic threshold, reminders, survey pause."""
    policy = FeedbackSettings.objects.select_for_update().filter(pk=1).first() or feedback_settings()
    errors: dict[str, str] = {}
    for name, value in fields.items():
        if name not in SETTINGS_LIMITS:
            raise ValidationError({name: _("Unknown setting.")})
        low, high = SETTINGS_LIMITS[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            field = str(getattr(FeedbackSettings._meta.get_field(name), "verbose_name", name))
            errors[name] = _("“%(field)s” must be a whole number from %(low)d to %(high)d.") % {
                "field": field,
                "low": low,
                "high": high,
            }
    if errors:
        raise ValidationError(errors)
    before = snapshot(policy, fields)
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.save()
    record_event(obj=policy, action="updated", actor=actor, changes=field_changes(policy, before, fields))
    return policy


@transaction.atomic
def topic_save(
    *, actor: User, name: str, name_zh: str = "", key: str = "", topic: FeedbackTopic | None = None
) -> FeedbackTopic:
    """Add a topic to the classifier's list, or rename one (its key never changes: it names the training labels)."""
    name, name_zh = (name or "").strip(), (name_zh or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the topic a name.")})
    if len(name) > 80 or len(name_zh) > 80:
        raise ValidationError({"name": _("Keep the names under 80 characters.")})
    if topic is None:
        key = (key or "").strip().lower()
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", key):
            raise ValidationError(
                {"key": _("Use lower-case letters, digits, “-” or “_” (at most 40), starting with a letter or digit.")}
            )
        if FeedbackTopic.objects.filter(key=key).exists():
            raise ValidationError({"key": _("A topic with the key “%(key)s” already exists.") % {"key": key}})
        topic = FeedbackTopic.objects.create(key=key, name=name, name_zh=name_zh)
        record_event(obj=topic, action="created", actor=actor, data={"key": key, "name": name, "name_zh": name_zh})
        return topic
    before = snapshot(topic, ("name", "name_zh"))
    topic.name, topic.name_zh = name, name_zh
    topic.save(update_fields=["name", "name_zh"])
    record_event(obj=topic, action="updated", actor=actor, changes=field_changes(topic, before, ("name", "name_zh")))
    return topic


@transaction.atomic
def topic_set_active(*, actor: User, topic: FeedbackTopic, active: bool) -> FeedbackTopic:
    """Retire a topic (the classifier stops suggesting it; items keep it) or bring it back."""
    if topic.key == "other" and not active:
        raise ValidationError({"active": _("“Other” catches everything else and cannot be retired.")})
    if topic.active == active:
        return topic
    topic.active = active
    topic.save(update_fields=["active"])
    record_event(obj=topic, action="updated", actor=actor, changes={"active": [not active, active]})
    return topic


ROUTING_FIELDS = ("name", "kind", "severity", "tier", "owner_id", "team_id", "response_hours", "active")


@transaction.atomic
def routing_rule_save(
    *,
    actor: User,
    name: str,
    rule: RoutingRule | None = None,
    kind: str = "",
    severity: str = "",
    tier: str = "",
    owner: User | None = None,
    team: Any = None,
    response_hours: int = 24,
    active: bool = True,
) -> RoutingRule:
    """Create or change a routing rule: kind, severity and customer tier → owner and/or team, response deadline."""
    from guanxi.customers.models import Account as _Account

    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the rule a name.")})
    if kind and kind not in Kind.values:
        raise ValidationError({"kind": _("Choose complaint, suggestion, praise or question.")})
    if severity and severity not in Severity.values:
        raise ValidationError({"severity": _("Unknown severity.")})
    if tier and tier not in _Account.Tier.values:
        raise ValidationError({"tier": _("Unknown customer tier.")})
    if owner is None and team is None:
        raise ValidationError({"owner": _("Choose an owner, a team or both.")})
    if owner is not None and not owner.is_active:
        raise ValidationError({"owner": _("This user is deactivated.")})
    if not isinstance(response_hours, int) or not 1 <= response_hours <= 8760:
        raise ValidationError({"response_hours": _("The response deadline is 1 to 8760 hours.")})
    rule = rule or RoutingRule()
    created = rule.pk is None
    before = snapshot(rule, ROUTING_FIELDS)
    rule.name, rule.kind, rule.severity, rule.tier = name[:120], kind, severity, tier
    rule.owner, rule.team, rule.response_hours, rule.active = owner, team, response_hours, active
    rule.save()
    record_event(
        obj=rule,
        action="created" if created else "updated",
        actor=actor,
        changes=field_changes(rule, before, ROUTING_FIELDS),
    )
    return rule


# --- scheduled and onboarding surveys ----------------------------------------------------------

ONBOARDING_GRACE_DAYS = 7  # a first order this much older than the survey's delay is no longer "onboarding"


def schedule_audience(schedule: SurveySchedule) -> Any:
    """The contacts a schedule reaches: not archived, with an email, matching its tag, stage and tier."""
    contacts = Contact.objects.filter(archived_at__isnull=True).exclude(email="")
    if schedule.audience_tag_id:
        contacts = contacts.filter(tags=schedule.audience_tag_id)
    if schedule.audience_stage:
        contacts = contacts.filter(lifecycle_stage=schedule.audience_stage)
    if schedule.audience_tier:
        contacts = contacts.filter(links__account__tier=schedule.audience_tier)
    return contacts.distinct().order_by("pk")


@transaction.atomic
def survey_schedule_save(
    *,
    actor: User,
    name: str,
    survey: Survey | None,
    every_days: int,
    next_run_at: Any,
    schedule: SurveySchedule | None = None,
    audience_tag: Any = None,
    audience_stage: str = "",
    audience_tier: str = "",
    active: bool = True,
) -> SurveySchedule:
    """Create or change a survey schedule: which survey, to whom, how often, and when it runs next."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the schedule a name.")})
    if survey is None:
        raise ValidationError({"survey": _("Choose a survey.")})
    if not isinstance(every_days, int) or not 1 <= every_days <= 366:
        raise ValidationError({"every_days": _("Run every 1 to 366 days.")})
    if next_run_at is None:
        raise ValidationError({"next_run_at": _("Say when the first run is.")})
    if audience_stage and audience_stage not in LifecycleStage.values:
        raise ValidationError({"audience_stage": _("Unknown lifecycle stage.")})
    if audience_tier and audience_tier not in Account.Tier.values:
        raise ValidationError({"audience_tier": _("Unknown customer tier.")})
    if audience_tag is None and not audience_stage and not audience_tier:
        raise ValidationError(
            {"audience_tag": _("Choose who receives it: a tag, a lifecycle stage or a tier (or several).")}
        )
    fields = ("name", "survey_id", "audience_tag_id", "audience_stage", "audience_tier", "every_days", "active")
    schedule = schedule or SurveySchedule()
    created = schedule.pk is None
    before = snapshot(schedule, (*fields, "next_run_at"))
    schedule.name, schedule.survey, schedule.audience_tag = name[:150], survey, audience_tag
    schedule.audience_stage, schedule.audience_tier = audience_stage, audience_tier
    schedule.every_days, schedule.next_run_at, schedule.active = every_days, next_run_at, active
    schedule.save()
    record_event(
        obj=schedule,
        action="created" if created else "updated",
        actor=actor,
        changes=field_changes(schedule, before, fields),
    )
    return schedule


def survey_schedules_run(*, now: Any = None) -> dict[str, int]:
    """Run every due schedule once: invite its audience (throttled ones skipped), then move its next run on.

    A run is keyed by the schedule and its planned day, and each invitation is committed on its own under that
    key (unique per survey, contact and key): a task started twice, or retried after a crash half-way, sends
    only to the customers not yet invited in that run, and the run moves on once, when it is complete."""
    now = now or timezone.now()
    done = {"runs": 0, "sent": 0, "skipped": 0}
    due = SurveySchedule.objects.filter(active=True, survey__active=True, next_run_at__lte=now)
    for schedule in due.select_related("survey").order_by("next_run_at", "id"):
        planned = schedule.next_run_at
        key = f"schedule:{schedule.pk}:{timezone.localtime(planned):%Y%m%d}"
        sent = skipped = 0
        for contact in schedule_audience(schedule).iterator(chunk_size=500):
            if survey_invite(survey=schedule.survey, contact=contact, actor=None, source_key=key):
                sent += 1
            else:
                skipped += 1
        next_run = planned
        while next_run <= now:
            next_run += timedelta(days=schedule.every_days)
        with transaction.atomic():
            moved = SurveySchedule.objects.filter(pk=schedule.pk, next_run_at=planned).update(
                next_run_at=next_run, last_run_at=now, last_sent=sent, last_skipped=skipped
            )
            if not moved:  # another worker finished this run first; what it sent is already counted there
                continue
            record_event(obj=schedule, action="run", actor=None, data={"sent": sent, "skipped": skipped, "key": key})
        done["runs"] += 1
        done["sent"] += sent
        done["skipped"] += skipped
    return done


def onboarding_contacts(*, days: int, now: Any = None) -> Any:
    """Contacts whose first order (not cancelled or refunded) was `days` to `days` + a grace week ago."""
    from guanxi.sales.models import Order

    now = now or timezone.now()
    firsts = (
        Order.objects.filter(contact__isnull=False)
        .exclude(status__in=[Order.Status.CANCELLED, Order.Status.REFUNDED])
        .values("contact_id")
        .annotate(first=Min("ordered_at"))
        .filter(
            first__lte=now - timedelta(days=days),
            first__gt=now - timedelta(days=days + ONBOARDING_GRACE_DAYS),
        )
        .values("contact_id")
    )
    return Contact.objects.filter(pk__in=firsts, archived_at__isnull=True).exclude(email="").order_by("pk")


def survey_onboarding_run(*, now: Any = None) -> dict[str, int]:
    """Send each onboarding survey to the customers whose first order was its number of days ago, once each."""
    done = {"sent": 0, "skipped": 0}
    for survey in Survey.objects.filter(active=True, trigger=Survey.Trigger.ONBOARDING):
        for contact in onboarding_contacts(days=survey.onboarding_days, now=now).iterator(chunk_size=500):
            invitation = survey_invite(survey=survey, contact=contact, actor=None, source_key="onboarding")
            done["sent" if invitation else "skipped"] += 1
    return done
