"""The feedback settings pages: policy (recurring threshold, points, survey pause), topics (add, rename, retire)
and routing rules, each change a service call that records an event; bad values are refused naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from guanxi.core.models import Event
from guanxi.feedback import classifier, services
from guanxi.feedback.models import FeedbackSettings, FeedbackTopic, RoutingRule

from ..factories import PASSWORD, UserFactory
from . import factories

pytestmark = pytest.mark.django_db

POLICY = {
    "recurring_count": 3,
    "recurring_days": 14,
    "default_response_hours": 24,
    "remind_hours_before": 2,
    "points_feedback": 20,
    "points_survey": 8,
    "points_adopted": 100,
    "survey_throttle_days": 45,
}


def _admin_client() -> tuple[Any, Client]:
    admin = UserFactory(roles=["administrator"], language="en")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.login(username=admin.email, password=PASSWORD)
    return admin, client


def _events(model: str, action: str) -> int:
    return Event.objects.filter(content_type__app_label="feedback", content_type__model=model, action=action).count()


def test_settings_page_saves_the_policy_and_records_an_event() -> None:
    """An administrator changes the points and thresholds on the page; the change is stored and audited."""
    _admin, client = _admin_client()
    assert client.get(reverse("feedback-settings")).status_code == 200
    response = client.post(reverse("feedback-settings"), POLICY)
    assert response.status_code == 302
    policy = FeedbackSettings.objects.get(pk=1)
    assert (policy.points_feedback, policy.recurring_count, policy.survey_throttle_days) == (20, 3, 45)
    event = Event.objects.filter(content_type__model="feedbacksettings", action="updated").get()
    assert event.changes["points_feedback"] == [10, 20]


def test_settings_out_of_range_names_the_field_and_changes_nothing() -> None:
    """A threshold of 1 is refused with the field named in the error; nothing is half-saved."""
    _admin, client = _admin_client()
    response = client.post(reverse("feedback-settings"), {**POLICY, "recurring_count": 1, "points_feedback": 99})
    assert response.status_code == 200
    assert "recurring_count" in response.context["form"].errors
    assert b"similar items that make a recurring issue" in response.content
    assert FeedbackSettings.objects.get(pk=1).points_feedback == 10
    with pytest.raises(ValidationError) as caught:
        services.feedback_settings_save(actor=None, points_survey=-5)  # type: ignore[arg-type]
    assert "points_survey" in caught.value.message_dict


def test_settings_need_the_permission(world: dict[str, Any]) -> None:
    """A sales rep cannot open the feedback settings."""
    client = Client()
    client.login(username=world["users"]["sales"].email, password=PASSWORD)
    assert client.get(reverse("feedback-settings")).status_code == 403


def test_topics_are_added_renamed_and_retired() -> None:
    """A new topic gets a key once; renaming keeps the key; a retired topic is never suggested by the classifier."""
    _admin, client = _admin_client()
    response = client.post(reverse("feedback-topic-create"), {"key": "Bad Key!", "name": "Invoices"})
    assert response.status_code == 200 and "key" in response.context["form"].errors
    client.post(reverse("feedback-topic-create"), {"key": "invoice", "name": "Invoices", "name_zh": "发票"})
    topic = FeedbackTopic.objects.get(key="invoice")
    client.post(
        reverse("feedback-topic-edit", args=[topic.pk]), {"key": "changed", "name": "Invoicing", "name_zh": "开票"}
    )
    topic.refresh_from_db()
    assert (topic.key, topic.name, topic.name_zh) == ("invoice", "Invoicing", "开票")
    duplicate = client.post(reverse("feedback-topic-create"), {"key": "invoice", "name": "Again"})
    assert "key" in duplicate.context["form"].errors
    assert _events("feedbacktopic", "created") == 1 and _events("feedbacktopic", "updated") == 1

    text = "快递太慢了，等了一个星期才到"
    suggested = classifier.classify(text).topic
    retired = FeedbackTopic.objects.get(key=suggested)
    client.post(reverse("feedback-topic-active", args=[retired.pk]), {"active": "0"})
    retired.refresh_from_db()
    assert retired.active is False
    item = factories.item(text=text)
    assert item.topic is not None and item.topic.key != suggested
    other = FeedbackTopic.objects.get(key="other")
    client.post(reverse("feedback-topic-active", args=[other.pk]), {"active": "0"})
    other.refresh_from_db()
    assert other.active is True  # "other" catches the rest and cannot be retired


def test_routing_rules_from_the_page_route_new_feedback(world: dict[str, Any]) -> None:
    """A rule made on the page (complaint, key tier → agent, 6 h) routes matching feedback with that deadline."""
    _admin, client = _admin_client()
    agent = world["users"]["service"]
    bad = client.post(reverse("feedback-rule-create"), {"name": "No one", "response_hours": 6})
    assert bad.status_code == 200 and "owner" in bad.context["form"].errors
    bad_hours = client.post(reverse("feedback-rule-create"), {"name": "Zero", "owner": agent.pk, "response_hours": 0})
    assert "response_hours" in bad_hours.context["form"].errors
    response = client.post(
        reverse("feedback-rule-create"),
        {
            "name": "Key complaints",
            "kind": "complaint",
            "tier": "key",
            "owner": agent.pk,
            "response_hours": 6,
            "active": "on",
        },
    )
    assert response.status_code == 302
    rule = RoutingRule.objects.get(name="Key complaints")
    assert _events("routingrule", "created") == 1
    account = factories.customer_factories.account(owner=agent, tier="key")
    item = services.feedback_create(kind="complaint", channel="email", text="发票开错了", actor=None, account=account)
    assert item.owner == agent
    assert abs((item.response_due_at - item.created_at).total_seconds() - 6 * 3600) < 60
    client.post(
        reverse("feedback-rule-edit", args=[rule.pk]),
        {"name": "Key complaints", "kind": "complaint", "tier": "key", "owner": agent.pk, "response_hours": 8},
    )
    rule.refresh_from_db()
    assert rule.response_hours == 8 and rule.active is False
    assert _events("routingrule", "updated") == 1


def test_settings_topics_rules_and_schedules_through_the_api(world: dict[str, Any], bearer: Any) -> None:
    """The API changes the same things through the same services: a bad value is a 422 naming the field and
    changes nothing; good ones are stored and audited."""
    api = bearer(world["users"]["manager"])
    bad = api.patch("/api/v1/feedback-settings", {"recurring_count": 1, "points_feedback": 7}, "application/json")
    assert bad.status_code == 422 and "recurring_count" in bad.json()["error"]["fields"]
    assert FeedbackSettings.objects.get(pk=1).points_feedback == 10
    ok = api.patch("/api/v1/feedback-settings", {"points_feedback": 7}, "application/json")
    assert ok.status_code == 200 and ok.json()["points_feedback"] == 7
    topic = api.post("/api/v1/feedback-topics", {"key": "invoice", "name": "Invoices"}, "application/json")
    assert topic.status_code == 201
    retired = api.patch(f"/api/v1/feedback-topics/{topic.json()['id']}", {"active": False}, "application/json")
    assert retired.json()["active"] is False
    rule = api.post(
        "/api/v1/feedback-routing-rules",
        {"name": "Strategic", "tier": "gold", "owner_id": world["users"]["service"].pk},
        "application/json",
    )
    assert rule.status_code == 422 and "tier" in rule.json()["error"]["fields"]
    survey = factories.survey(actor=world["users"]["manager"])
    schedule = api.post(
        "/api/v1/survey-schedules",
        {
            "name": "Monthly",
            "survey_id": survey.pk,
            "audience_stage": "customer",
            "next_run_at": "2030-01-01T09:00:00Z",
        },
        "application/json",
    )
    assert schedule.status_code == 201 and schedule.json()["every_days"] == 30
    assert _events("surveyschedule", "created") == 1 and _events("feedbacksettings", "updated") == 1
