"""Surveys by schedule (to a tag, stage or tier, every N days) and by the onboarding trigger (N days after a
contact's first order), run by the worker's periodic task: throttling holds and a re-run never sends twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from guanxi.core.models import Event, Tag
from guanxi.feedback import services, tasks
from guanxi.feedback.models import SurveyInvitation, SurveySchedule

from ..factories import PASSWORD
from ..sales import order_factories
from . import factories

pytestmark = pytest.mark.django_db


def _tagged(tag: Tag, owner: Any, n: int) -> list[Any]:
    people = [factories.contact(owner=owner) for _ in range(n)]
    for person in people:
        person.tags.add(tag)
    return people


def _schedule(*, actor: Any, survey: Any, tag: Tag, every_days: int = 30, **fields: Any) -> SurveySchedule:
    return services.survey_schedule_save(
        actor=actor,
        name="每月 NPS",
        survey=survey,
        audience_tag=tag,
        every_days=every_days,
        next_run_at=fields.pop("next_run_at", timezone.now() - timedelta(minutes=1)),
        **fields,
    )


def test_a_due_schedule_sends_once_and_a_rerun_sends_nothing(world: dict[str, Any]) -> None:
    """The periodic task sends a due schedule's survey to its tag's contacts, moves the next run on by the
    cadence, and running the task again at once sends nothing more."""
    agent = world["users"]["marketing"]
    survey = factories.survey(actor=agent, throttle_days=0)
    tag = Tag.objects.create(name="VIP")
    people = _tagged(tag, agent, 3)
    factories.contact(owner=agent)  # not tagged: not in the audience
    schedule = _schedule(actor=agent, survey=survey, tag=tag)
    planned = schedule.next_run_at
    assert tasks.surveys_scheduled()["sent"] == 3
    assert tasks.surveys_scheduled()["sent"] == 0
    assert services.survey_schedules_run(now=timezone.now())["runs"] == 0
    assert SurveyInvitation.objects.filter(survey=survey).count() == 3
    assert sorted(i.contact_id for i in SurveyInvitation.objects.all()) == sorted(p.pk for p in people)
    schedule.refresh_from_db()
    assert schedule.next_run_at == planned + timedelta(days=30)
    assert (schedule.last_sent, schedule.last_skipped) == (3, 0) and schedule.last_run_at is not None
    assert Event.objects.filter(content_type__model="surveyschedule", action="run").count() == 1


def test_the_same_run_key_never_sends_twice_even_if_the_schedule_is_reset(world: dict[str, Any]) -> None:
    """A run is keyed by its planned day: putting the schedule back to the same run (a retried task after a crash
    between sending and saving) sends nothing to those already invited."""
    agent = world["users"]["marketing"]
    survey = factories.survey(actor=agent, throttle_days=0)
    services.feedback_settings_save(actor=agent, survey_throttle_days=0)
    tag = Tag.objects.create(name="年度客户")
    _tagged(tag, agent, 2)
    schedule = _schedule(actor=agent, survey=survey, tag=tag)
    planned = schedule.next_run_at
    assert services.survey_schedules_run()["sent"] == 2
    SurveySchedule.objects.filter(pk=schedule.pk).update(next_run_at=planned)
    again = services.survey_schedules_run()
    assert again == {"runs": 1, "sent": 0, "skipped": 2}
    assert SurveyInvitation.objects.count() == 2 and len(mail.outbox) == 2


def test_scheduled_runs_respect_the_throttle(world: dict[str, Any]) -> None:
    """A customer surveyed within the organisation's survey pause is skipped by the next run, asked after it."""
    agent = world["users"]["marketing"]
    services.feedback_settings_save(actor=agent, survey_throttle_days=20)
    survey = factories.survey(actor=agent, throttle_days=0)
    tag = Tag.objects.create(name="季度回访")
    recent, fresh = _tagged(tag, agent, 2)
    other = factories.survey(actor=agent, throttle_days=0)
    services.survey_send(survey=other, contacts=[recent], actor=agent)  # surveyed a moment ago
    schedule = _schedule(actor=agent, survey=survey, tag=tag, every_days=7)
    assert services.survey_schedules_run() == {"runs": 1, "sent": 1, "skipped": 1}
    assert SurveyInvitation.objects.get(survey=survey).contact == fresh
    # three weeks later the next weekly run asks the one who was skipped (and skips the one asked last time)
    later = timezone.now() + timedelta(days=21)
    SurveyInvitation.objects.update(created_at=timezone.now() - timedelta(days=21))
    assert services.survey_schedules_run(now=later) == {"runs": 1, "sent": 2, "skipped": 0}
    schedule.refresh_from_db()
    assert schedule.next_run_at > later


def test_onboarding_survey_goes_out_days_after_the_first_order_once(world: dict[str, Any]) -> None:
    """A contact whose first order was placed 7 days ago gets the onboarding survey, once; a contact whose first
    order is older than the grace week, or too recent, does not."""
    agent = world["users"]["sales"]
    survey = factories.survey(actor=agent, kind="csat", trigger="onboarding", onboarding_days=7, throttle_days=0)
    now = timezone.now()
    new = factories.contact(owner=agent)
    old = factories.contact(owner=agent)
    too_soon = factories.contact(owner=agent)
    order_factories.order(owner=agent, contact=new, ordered_at=now - timedelta(days=8))
    order_factories.order(owner=agent, contact=old, ordered_at=now - timedelta(days=60))
    order_factories.order(owner=agent, contact=old, ordered_at=now - timedelta(days=8))  # not its first
    order_factories.order(owner=agent, contact=too_soon, ordered_at=now - timedelta(days=2))
    assert tasks.surveys_scheduled()["onboarding_sent"] == 1
    assert tasks.surveys_scheduled()["onboarding_sent"] == 0
    invitation = SurveyInvitation.objects.get(survey=survey)
    assert invitation.contact == new and invitation.source_key == "onboarding"


def test_schedule_pages(world: dict[str, Any]) -> None:
    """Marketing creates a schedule on the page; bad input names the field; the list shows last and next run."""
    marketer = world["users"]["marketing"]
    survey = factories.survey(actor=marketer, name="月度满意度")
    tag = Tag.objects.create(name="重点客户")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.login(username=marketer.email, password=PASSWORD)
    empty = client.get(reverse("survey-schedule-list"))
    assert empty.status_code == 200 and b"No survey schedules yet" in empty.content
    data = {"name": "Monthly", "survey": survey.pk, "every_days": 30, "next_run_at": "2030-01-01T09:00"}
    no_audience = client.post(reverse("survey-schedule-create"), data)
    assert no_audience.status_code == 200 and "audience_tag" in no_audience.context["form"].errors
    bad_cadence = client.post(reverse("survey-schedule-create"), {**data, "audience_tag": tag.pk, "every_days": 0})
    assert "every_days" in bad_cadence.context["form"].errors
    created = client.post(reverse("survey-schedule-create"), {**data, "audience_tag": tag.pk, "active": "on"})
    assert created.status_code == 302
    page = client.get(reverse("survey-schedule-list"))
    assert b"Monthly" in page.content and b"not yet" in page.content and "重点客户" in page.content.decode()
    sales = Client()
    sales.login(username=world["users"]["sales"].email, password=PASSWORD)
    assert sales.get(reverse("survey-schedule-create")).status_code == 403
