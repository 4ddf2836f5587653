"""The closed loop on the services: create → classify → route with a deadline → remind/escalate → resolve →
notify in the customer's language → rate → points; recurring topics; close refused without the loop."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from guanxi.core.models import Event, Notification
from guanxi.feedback import selectors, services
from guanxi.feedback.models import FeedbackIssue, FeedbackItem, FeedbackSettings, FeedbackTopic, PointsEntry

from . import factories

pytestmark = pytest.mark.django_db


def test_feedback_is_classified_and_routed_by_the_most_specific_rule(world: dict[str, Any]) -> None:
    """A complaint gets a suggested topic and sentiment, and the matching rule's owner and deadline."""
    service = world["users"]["service"]
    factories.rule(response_hours=48, owner=world["users"]["sales"])
    factories.rule(kind="complaint", response_hours=4, owner=service)
    customer = factories.contact(owner=service)
    before = timezone.now()
    item = services.feedback_create(
        kind="complaint", channel="web_form", text="快递太慢了，包裹还被压坏了", contact=customer, actor=None
    )
    assert item.topic is not None and item.topic.key == "delivery"
    assert item.sentiment == "negative"
    assert item.owner == service and item.status == FeedbackItem.Status.ASSIGNED
    assert item.response_due_at is not None
    assert before + timedelta(hours=4) <= item.response_due_at <= timezone.now() + timedelta(hours=4)
    assert Event.objects.filter(action="created", object_id=item.pk, content_type__model="feedbackitem").exists()
    assert Notification.objects.filter(recipient=service).exists()
    # giving feedback earns the configured points, once
    assert selectors.points_balance(customer) == FeedbackSettings.objects.get().points_feedback


def test_english_text_is_classified_too(world: dict[str, Any]) -> None:
    """English feedback gets an English-trained topic and sentiment."""
    item = services.feedback_create(kind="complaint", channel="api", text="The app keeps crashing", actor=None)
    assert item.topic is not None and item.topic.key == "app"
    assert item.sentiment == "negative"


def test_bad_input_is_refused_with_the_field_named(world: dict[str, Any]) -> None:
    """Empty text, an unknown kind or an unknown related kind name their field; nothing is written."""
    for fields, key in (
        ({"text": "   "}, "text"),
        ({"kind": "rant"}, "kind"),
        ({"related_kind": "spaceship", "related_id": 3}, "related_kind"),
    ):
        data = {"kind": "complaint", "channel": "phone", "text": "好", **fields}
        with pytest.raises(ValidationError) as caught:
            services.feedback_create(actor=None, **data)
        assert key in caught.value.message_dict
    assert FeedbackItem.objects.count() == 0


def test_emoji_and_any_script_are_kept_and_classified(world: dict[str, Any]) -> None:
    """Text in any script or with emoji is accepted as written."""
    text = "😡😡 Доставка очень медленная — 快递太慢 🚚"
    item = services.feedback_create(kind="complaint", channel="api", text=text, actor=None)
    assert FeedbackItem.objects.get(pk=item.pk).text == text


def test_the_whole_loop_and_close_rules(world: dict[str, Any]) -> None:
    """Close is refused until resolved and the customer told; the email is in the customer's language and its
    signed link rates the resolution once."""
    agent = world["users"]["service"]
    customer = factories.contact(owner=agent)
    item = factories.item(owner=agent, contact=customer, language="en", text="The courier lost my parcel")
    with pytest.raises(ValidationError) as caught:
        services.feedback_close(item=item, actor=agent)
    assert "resolution" in caught.value.message_dict
    with pytest.raises(ValidationError):
        services.feedback_resolve(item=item, resolution="  ", actor=agent)
    services.feedback_resolve(item=item, resolution="We re-sent the parcel by express.", actor=agent)
    with pytest.raises(ValidationError) as caught:
        services.feedback_close(item=item, actor=agent)
    assert "customer_notified_at" in caught.value.message_dict
    services.feedback_notify_customer(item=item, actor=agent)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [customer.email]
    assert "has been resolved" in message.subject and "re-sent the parcel" in message.body
    token = message.body.split("/f/rate/")[1].split("/")[0]  # the emailed link is the signed rating token
    services.feedback_close(item=item, actor=agent)
    item.refresh_from_db()
    assert item.status == FeedbackItem.Status.CLOSED and item.closed_at
    services.feedback_rate(token=token, satisfied=True)
    with pytest.raises(ValidationError):
        services.feedback_rate(token=token, satisfied=False)  # replayed
    with pytest.raises(ValidationError):
        services.feedback_rate(token=token[:-2] + "xx", satisfied=False)  # forged
    item.refresh_from_db()
    assert item.customer_satisfied is True


def test_chinese_customer_is_told_in_chinese(world: dict[str, Any]) -> None:
    """The notification email is rendered in the language the customer used (catalogues come with the integrator)."""
    agent = world["users"]["service"]
    item = factories.item(owner=agent, contact=factories.contact(owner=agent), language="zh-hans")
    services.feedback_resolve(item=item, resolution="已重新发货", actor=agent)
    services.feedback_notify_customer(item=item, actor=agent)
    assert "已重新发货" in mail.outbox[0].body
    event = Event.objects.get(action="customer_notified", object_id=item.pk)
    assert event.data["language"] == "zh-hans"  # the message was rendered with the customer's language active


def test_no_email_needs_a_recorded_reason_before_closing(world: dict[str, Any]) -> None:
    """Without an address the notification is refused; a recorded reason lets the item close."""
    agent = world["users"]["service"]
    item = factories.item(owner=agent, text="电话里说发票开错了")
    services.feedback_resolve(item=item, resolution="发票已重开", actor=agent)
    with pytest.raises(ValidationError) as caught:
        services.feedback_notify_customer(item=item, actor=agent)
    assert "reason" in caught.value.message_dict
    services.feedback_notify_customer(item=item, actor=agent, reason="匿名来电，无联系方式")
    services.feedback_close(item=item, actor=agent)
    assert FeedbackItem.objects.get(pk=item.pk).status == "closed"


def test_reminder_then_escalation_happen_once(world: dict[str, Any]) -> None:
    """The deadline check reminds the owner before the deadline and escalates to the team manager after it,
    each once however often it runs."""
    agent, manager = world["users"]["sales"], world["users"]["manager"]
    east = world["teams"]["east"]
    east.manager = manager
    east.save()
    factories.rule(response_hours=2, owner=agent, team=east)
    item = factories.item(actor=None, channel="web_form")
    assert item.owner == agent
    assert services.feedback_deadlines_check() == 1  # due within the reminder lead time
    assert services.feedback_deadlines_check() == 0
    later = timezone.now() + timedelta(hours=3)
    assert services.feedback_deadlines_check(now=later) == 1
    assert services.feedback_deadlines_check(now=later) == 0
    item.refresh_from_db()
    assert item.reminded_at and item.escalated_at
    assert Notification.objects.filter(recipient=manager, url=item.get_absolute_url()).count() == 1
    assert Event.objects.filter(action="escalated", object_id=item.pk).count() == 1


def test_recurring_topic_becomes_one_issue_escalated_to_managers(world: dict[str, Any]) -> None:
    """N similar items within the period are grouped into one issue; managers are told once; later ones join it."""
    FeedbackSettings.objects.filter(pk=1).update(recurring_count=3, recurring_days=7)
    texts = ["快递太慢了", "物流一直不更新", "包裹被压坏了", "The delivery took two weeks"]
    items = [services.feedback_create(kind="complaint", channel="web_form", text=t, actor=None) for t in texts]
    issue = FeedbackIssue.objects.get()
    assert issue.topic.key == "delivery"
    assert set(issue.items.values_list("pk", flat=True)) == {i.pk for i in items}
    assert Notification.objects.filter(recipient=world["users"]["manager"], url=issue.get_absolute_url()).count() == 1


def test_correction_and_adoption(world: dict[str, Any]) -> None:
    """Staff correct topic and sentiment (kept apart from the suggestion); an adopted suggestion earns points once."""
    agent = world["users"]["service"]
    customer = factories.contact(owner=agent)
    item = factories.item(owner=agent, contact=customer, kind="suggestion", text="希望App增加夜间模式")
    price = FeedbackTopic.objects.get(key="price")
    services.feedback_correct(item=item, topic=price, sentiment="neutral", actor=agent)
    item.refresh_from_db()
    assert item.topic == price and item.topic_suggested is not None and item.topic_suggested.key == "app"
    services.feedback_adopt(item=item, actor=agent)
    with pytest.raises(ValidationError):
        services.feedback_adopt(item=item, actor=agent)
    reasons = sorted(PointsEntry.objects.filter(contact=customer).values_list("reason", flat=True))
    assert reasons == ["adopted", "feedback"]


def test_redemption_is_a_negative_line_and_cannot_exceed_the_balance(world: dict[str, Any]) -> None:
    """The ledger is append-only; the balance is its sum; redeeming more than it holds is refused."""
    agent = world["users"]["service"]
    customer = factories.contact(owner=agent)
    factories.item(owner=agent, contact=customer)
    with pytest.raises(ValidationError) as caught:
        services.points_redeem(contact=customer, points=999, note="礼品", actor=agent)
    assert "points" in caught.value.message_dict
    services.points_redeem(contact=customer, points=4, note="优惠券", actor=agent)
    assert selectors.points_balance(customer) == FeedbackSettings.objects.get().points_feedback - 4
    assert PointsEntry.objects.filter(contact=customer).count() == 2
