"""The starter rules, switched on, fire on the real events of the real apps: the service SLA sweep, a ticket
resolved (with feedback's "start a survey" action), a customer's first sales order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from guanxi.automation import engine, services
from guanxi.automation.models import Rule, RuleRun
from guanxi.core.models import Notification
from guanxi.feedback.models import SurveyInvitation
from guanxi.service import services as service
from guanxi.service.models import Ticket

from ..customers import factories as customers
from ..factories import TeamFactory, UserFactory
from ..feedback import factories as feedback
from ..sales import order_factories as orders
from ..service import factories as tickets
from .helpers import dispatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return UserFactory(roles=["administrator"])


@pytest.fixture
def agent():
    return UserFactory(roles=["service"], teams=[TeamFactory()])


def _switch_on(admin, trigger: str) -> Rule:
    rule = Rule.objects.get(trigger=trigger, created_by__isnull=True)
    services.rule_set_active(rule=rule, active=True, actor=admin)
    engine.index_invalidate()
    return rule


def test_escalate_breached_slas_fires_on_the_sweeps_breach_event(admin, agent):
    """Given the starter rule on, when the service app's SLA sweep finds a ticket past its deadline and records
    `sla_breached`, then the rule runs once and the administrators are told."""
    rule = _switch_on(admin, "deadline.event")
    ticket = tickets.ticket(email="kehu@example.cn", assignee=agent)
    Ticket.objects.filter(pk=ticket.pk).update(sla_due=timezone.now() - timedelta(minutes=5))
    assert service.sla_sweep()["breached"] == 1
    dispatch()
    run = RuleRun.objects.get(rule=rule)
    assert run.outcome == RuleRun.Outcome.OK and run.record_id == ticket.pk
    assert Notification.objects.filter(recipient=admin, event=run.event).exists()
    service.sla_sweep()
    dispatch()
    assert RuleRun.objects.filter(rule=rule).count() == 1, "a ticket breaches once, the rule runs once"


def test_thank_you_and_survey_after_a_resolved_ticket(admin, agent, django_capture_on_commit_callbacks):
    """Given the starter rule on and an active CSAT survey, when an agent resolves a ticket, then the customer
    gets the thank-you email and a survey invitation started by feedback's registered action."""
    rule = _switch_on(admin, "status.changed")
    csat = feedback.survey(actor=admin, kind="csat", name="服务满意度 CSAT", throttle_days=0)
    contact = customers.contact(owner=agent, email="wang@kehu.cn")
    ticket = tickets.ticket(email="wang@kehu.cn", contact=contact, assignee=agent)
    dispatch()
    mail.outbox.clear()
    service.ticket_set_status(ticket=ticket, status="resolved", actor=agent)
    with django_capture_on_commit_callbacks(execute=True):  # the email leaves once the run commits
        dispatch()
    run = RuleRun.objects.get(rule=rule)
    assert run.outcome == RuleRun.Outcome.OK, run.error
    subjects = [m.subject for m in mail.outbox if m.to == ["wang@kehu.cn"]]
    assert any(s.startswith("感谢您的耐心") for s in subjects), subjects
    assert SurveyInvitation.objects.filter(survey=csat, contact=contact).count() == 1


def test_the_survey_action_without_an_active_survey_is_a_logged_failure(admin, agent):
    """Without an active CSAT survey the run fails with a message saying what to do; nothing else breaks."""
    rule = _switch_on(admin, "status.changed")
    contact = customers.contact(owner=agent, email="li@kehu.cn")
    ticket = tickets.ticket(email="li@kehu.cn", contact=contact, assignee=agent)
    service.ticket_set_status(ticket=ticket, status="resolved", actor=agent)
    dispatch()
    run = RuleRun.objects.get(rule=rule)
    assert run.outcome == RuleRun.Outcome.FAILED and "survey" in run.error


def test_welcome_after_a_first_order_only(admin, django_capture_on_commit_callbacks):
    """Given the starter rule on, a contact's first order sends the welcome email and tells the owner; their
    second order does not."""
    rep = UserFactory(roles=["sales"], teams=[TeamFactory()])
    rule = _switch_on(admin, "record.first")
    contact = customers.contact(owner=rep, email="zhao@kehu.cn")
    first = orders.order(owner=rep, contact=contact)
    orders.order(owner=rep, contact=contact)
    with django_capture_on_commit_callbacks(execute=True):  # the email leaves once the run commits
        dispatch()
    runs = list(RuleRun.objects.filter(rule=rule))
    assert [r.record_id for r in runs] == [first.pk] and runs[0].outcome == RuleRun.Outcome.OK
    assert len([m for m in mail.outbox if m.subject.startswith("欢迎") and m.to == ["zhao@kehu.cn"]]) == 1
    assert Notification.objects.filter(recipient=rep, event_id=runs[0].event_id).exists()
