"""The feedback inbox: columns, filters (kind, topic, sentiment, status, overdue) and default sort."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.listviews import Column, Filter, ListSpec, choice_filter, list_spec, owner_filter, team_filter

from . import selectors
from .models import Channel, FeedbackItem, FeedbackTopic, Kind, Sentiment

OPEN = ["new", "assigned", "in_progress"]


def _rows(viewer: Any, q: str, archived: bool) -> QuerySet[FeedbackItem]:
    rows = selectors.feedback_visible_to(viewer)
    return rows.filter(text__icontains=q) if q else rows


def _overdue() -> Filter:
    choices = [("", "—"), ("yes", _("Overdue")), ("no", _("On time"))]

    def apply(rows: QuerySet, values: dict[str, Any], viewer: Any) -> QuerySet:
        late = rows.filter(status__in=OPEN, response_due_at__lt=timezone.now())
        return late if values["overdue"] == "yes" else rows.exclude(pk__in=late.values("pk"))

    return Filter(
        "overdue",
        _("Deadline"),
        fields=lambda viewer: {"overdue": forms.ChoiceField(label=_("Deadline"), required=False, choices=choices)},
        apply=apply,
    )


FEEDBACK = list_spec(
    ListSpec(
        name="feedback",
        label=_("Feedback"),
        permission="feedback.view_feedbackitem",
        url_name="feedback-list",
        rows=_rows,
        columns=[
            Column("text", _("Feedback"), lambda i: i.text[:80], template="feedback/cells/text.html", default=True),
            Column("kind", _("Kind"), lambda i: i.get_kind_display(), sort="kind", default=True),
            Column("topic", _("Topic"), lambda i: str(i.topic) if i.topic else "", sort="topic__key", default=True),
            Column("sentiment", _("Sentiment"), lambda i: i.get_sentiment_display(), sort="sentiment", default=True),
            Column(
                "status",
                _("Status"),
                lambda i: i.get_status_display(),
                sort="status",
                template="feedback/cells/status.html",
                default=True,
            ),
            Column("due", _("Response due"), lambda i: i.response_due_at, sort="response_due_at", default=True),
            Column(
                "owner", _("Owner"), lambda i: str(i.owner) if i.owner else "", sort="owner__full_name", default=True
            ),
            Column("channel", _("Channel"), lambda i: i.get_channel_display(), sort="channel"),
            Column("severity", _("Severity"), lambda i: i.get_severity_display(), sort="severity"),
            Column("customer", _("Customer"), lambda i: str(i.customer or i.submitter_name or "")),
            Column("created", _("Received"), lambda i: i.created_at, sort="created_at", default=True),
        ],
        filters=[
            choice_filter("kind", _("Kind"), "kind", lambda: Kind.choices),
            choice_filter(
                "topic", _("Topic"), "topic__key", lambda: [(t.key, str(t)) for t in FeedbackTopic.objects.all()]
            ),
            choice_filter("sentiment", _("Sentiment"), "sentiment", lambda: Sentiment.choices),
            choice_filter("status", _("Status"), "status", lambda: FeedbackItem.Status.choices),
            choice_filter("channel", _("Channel"), "channel", lambda: Channel.choices),
            _overdue(),
            owner_filter(_("Owner")),
            team_filter(_("Team")),
        ],
        default_sort="-created",
    )
)
