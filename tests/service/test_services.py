"""Tickets through the services: customer matching, routing and assignment, SLA clocks with pauses,
measures, status rules, events, and the SLA sweep's warnings and escalations."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from guanxi.core.models import Event, Notification
from guanxi.customers.models import Account, Lead
from guanxi.service import services
from guanxi.service.models import Queue, Status, Ticket

from ..customers import factories as customers
from . import factories

CST = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=CST)


@pytest.fixture
def desk(make_user):
    """An East queue with two agents, round robin, and a policy of 60 / 480 business minutes on a calendar
    with China's 2025 official days."""
    agent_a, agent_b = make_user("service"), make_user("service")
    cal = factories.calendar()
    services.calendar_load_china(actor=None, calendar=cal, year=2025)
    queue = factories.queue(agents=[agent_a, agent_b], is_default=True)
    policy = factories.policy(cal=cal, first_response_minutes=60, resolution_minutes=480, warn_before_minutes=15)
    return {"a": agent_a, "b": agent_b, "queue": queue, "policy": policy, "cal": cal}


def test_loading_chinas_calendar_stores_holidays_and_adjusted_workdays(desk) -> None:
    """2025 has the official holidays and the five worked weekend days (调休), with names."""
    days = desk["cal"].days.filter(date__year=2025)
    assert days.filter(kind="workday").count() == 5
    assert days.get(date="2025-10-01").kind == "holiday"
    assert days.get(date="2025-09-28").kind == "workday"
    assert Event.objects.filter(action="calendar_loaded").exists()


def test_a_ticket_links_the_contact_matched_by_email_and_their_account_tier(desk, make_user) -> None:
    """An email written differently (upper case) still finds the contact; the account comes along."""
    owner = make_user("sales")
    account = customers.account(owner=owner, tier=Account.Tier.KEY)
    contact = customers.contact(owner=owner, email="wang.fang@kehu.cn", accounts=[(account, "")])
    ticket = factories.ticket(email="Wang.Fang@KEHU.cn")
    assert (ticket.contact, ticket.account, ticket.lead) == (contact, account, None)


def test_a_ticket_links_the_contact_matched_by_phone_written_any_way(desk, make_user) -> None:
    """A phone number with spaces and the country code matches the stored E.164 number."""
    contact = customers.contact(owner=make_user("sales"), phone="13912345678")
    assert factories.ticket(phone="+86 139 1234 5678").contact == contact


def test_an_unknown_sender_becomes_a_lead(desk) -> None:
    """No contact or lead with that address: a lead is created and linked."""
    ticket = factories.ticket(email="new.person@unknown.example.cn", name="陈静")
    assert ticket.lead is not None and ticket.lead.email == "new.person@unknown.example.cn"
    assert Lead.objects.filter(pk=ticket.lead.pk, given_name="陈静").exists()


def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(desk) -> None:
    """A missing subject, an unknown channel and a broken email are all reported; no ticket or lead exists."""
    with pytest.raises(ValidationError) as caught:
        services.ticket_create(actor=None, subject="", body="x", channel="fax", email="not-an-email")
    assert set(caught.value.message_dict) == {"subject", "channel", "email"}
    assert not Ticket.objects.exists() and not Lead.objects.exists()


def test_round_robin_hands_tickets_out_in_turn(desk) -> None:
    """Three tickets in a round-robin queue of two agents go a, b, a."""
    owners = [factories.ticket(email=f"rr{i}@kehu.cn").owner for i in range(3)]
    assert owners == [desk["a"], desk["b"], desk["a"]]


def test_least_loaded_picks_the_agent_with_fewest_open_tickets(desk) -> None:
    """With a busier than b, the next ticket goes to b."""
    queue = desk["queue"]
    services.queue_save(actor=None, queue=queue, name=queue.name, assignment=Queue.Assignment.LEAST_LOADED)
    for i in range(2):
        factories.ticket(email=f"ll{i}@kehu.cn", assignee=desk["a"])
    assert factories.ticket(email="ll9@kehu.cn").owner == desk["b"]


def test_rules_route_by_category_and_by_customer_tier(desk, make_user) -> None:
    """A billing ticket goes to the billing queue; a strategic customer's ticket to the VIP queue."""
    billing, vip = factories.queue(name="账单 Billing"), factories.queue(name="VIP")
    services.assignment_rule_save(actor=None, order=1, category="billing", tier="", queue=billing)
    services.assignment_rule_save(actor=None, order=2, category="", tier="strategic", queue=vip)
    owner = make_user("sales")
    account = customers.account(owner=owner, tier=Account.Tier.STRATEGIC)
    customers.contact(owner=owner, email="boss@big.cn", accounts=[(account, "")])
    assert factories.ticket(email="x@kehu.cn", category="billing").queue == billing
    assert factories.ticket(email="boss@big.cn").queue == vip
    assert factories.ticket(email="y@kehu.cn").queue == desk["queue"]


def test_reassignment_and_queue_moves_count_hand_offs(desk) -> None:
    """Giving the ticket to another agent, then moving it to another queue, is two hand-offs."""
    ticket = factories.ticket(email="h@kehu.cn")
    other = desk["b"] if ticket.owner == desk["a"] else desk["a"]
    services.ticket_assign(ticket=ticket, assignee=other, actor=other)
    services.ticket_move(ticket=ticket, queue=factories.queue(agents=[desk["a"]]), actor=other)
    ticket.refresh_from_db()
    assert ticket.handoff_count == 2
    assert Event.objects.filter(object_id=ticket.pk, action__in=["assigned", "reassigned"]).count() >= 3


def test_due_times_are_in_business_time_from_the_policy(desk) -> None:
    """Opened at 17:30 on the eve of 国庆: 30 minutes that evening, then the rest after the holiday on 9 Oct."""
    ticket = factories.ticket(email="d@kehu.cn", opened_at=at(9, 30, 17, 30))
    assert ticket.first_response_due == at(10, 9, 9, 30)  # 30 + 30
    assert ticket.resolution_due == at(10, 9, 17, 30)  # 30 + 180 (morning) + 270 (afternoon)
    assert ticket.sla_due == ticket.first_response_due
    assert ticket.sla_warn_at == at(10, 9, 9, 15)  # 15 minutes before the first-response deadline


def test_first_reply_records_the_first_response_and_moves_the_clock_to_resolution(desk) -> None:
    """The first public reply sets wall and business first-response times; the deadline becomes resolution."""
    ticket = factories.ticket(email="f@kehu.cn", opened_at=at(9, 22, 17, 30))
    services.ticket_reply(ticket=ticket, actor=desk["a"], body="您好，我们在处理。", at=at(9, 23, 9, 15))
    ticket.refresh_from_db()
    assert ticket.first_response_at == at(9, 23, 9, 15)
    assert ticket.first_response_minutes == 15 * 60 + 45
    assert ticket.first_response_business_minutes == 45
    assert ticket.status == Status.OPEN and ticket.sla_due == ticket.resolution_due


def test_a_note_is_not_a_first_response(desk) -> None:
    """An internal note leaves the first-response clock running."""
    ticket = factories.ticket(email="n@kehu.cn")
    services.ticket_reply(ticket=ticket, actor=desk["a"], body="查一下日志", kind="note")
    ticket.refresh_from_db()
    assert ticket.first_response_at is None and ticket.status == Status.NEW


def test_waiting_on_the_customer_pauses_and_their_reply_resumes_pushing_the_deadline(desk) -> None:
    """Two business hours waiting on the customer push the resolution due time two business hours later."""
    ticket = factories.ticket(email="p@kehu.cn", opened_at=at(9, 22, 9))
    due = ticket.resolution_due
    services.ticket_reply(ticket=ticket, actor=desk["a"], body="请提供订单号", wait_on_customer=True, at=at(9, 22, 10))
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING and ticket.paused_at == at(9, 22, 10)
    services.ticket_customer_reply(ticket=ticket, body="订单号 123", at=at(9, 22, 13) + timedelta(hours=0))
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.paused_minutes == 120 and ticket.paused_at is None
    assert ticket.resolution_due == at(9, 23, 11)
    assert due == at(9, 22, 18)


def test_priority_change_rematches_the_policy_and_recomputes_due_times(desk) -> None:
    """An urgent policy of 15 minutes applies once the ticket is made urgent."""
    urgent = factories.policy(cal=desk["cal"], order=1, priority="urgent", first_response_minutes=15,
                              resolution_minutes=120)  # fmt: skip
    ticket = factories.ticket(email="u@kehu.cn", opened_at=at(9, 22, 9))
    services.ticket_set_priority(ticket=ticket, priority="urgent", actor=desk["a"])
    ticket.refresh_from_db()
    assert ticket.sla_policy == urgent and ticket.first_response_due == at(9, 22, 9, 15)
    assert Event.objects.filter(object_id=ticket.pk, action="priority_changed").exists()


def test_resolve_records_measures_and_first_contact_resolution(desk) -> None:
    """One reply then resolved: resolution times are measured and it counts as first-contact resolution."""
    ticket = factories.ticket(email="r@kehu.cn", opened_at=at(9, 22, 9))
    services.ticket_reply(
        ticket=ticket, actor=desk["a"], body="已重置密码", time_spent_seconds=300, at=at(9, 22, 9, 30)
    )
    services.ticket_set_status(ticket=ticket, status="resolved", actor=desk["a"], at=at(9, 22, 14))
    ticket.refresh_from_db()
    assert ticket.resolution_minutes == 300 and ticket.resolution_business_minutes == 240
    assert ticket.first_contact_resolution is True and ticket.handle_seconds == 300


def test_a_customer_reply_reopens_a_resolved_ticket_and_counts_it(desk) -> None:
    """Reopening counts and spoils first-contact resolution."""
    ticket = factories.ticket(email="o@kehu.cn")
    services.ticket_reply(ticket=ticket, actor=desk["a"], body="好了")
    services.ticket_set_status(ticket=ticket, status="resolved", actor=desk["a"])
    services.ticket_customer_reply(ticket=ticket, body="还是不行")
    ticket.refresh_from_db()
    assert ticket.status == Status.REOPENED and ticket.reopen_count == 1 and ticket.resolved_at is None
    services.ticket_set_status(ticket=ticket, status="resolved", actor=desk["a"])
    ticket.refresh_from_db()
    assert ticket.first_contact_resolution is False


def test_impossible_status_moves_are_refused(desk) -> None:
    """A closed ticket cannot go back to waiting; replies to it are refused until reopened."""
    ticket = factories.ticket(email="c@kehu.cn")
    services.ticket_set_status(ticket=ticket, status="closed", actor=desk["a"])
    with pytest.raises(ValidationError) as caught:
        services.ticket_set_status(ticket=ticket, status="waiting", actor=desk["a"])
    assert "status" in caught.value.message_dict
    with pytest.raises(ValidationError):
        services.ticket_reply(ticket=ticket, actor=desk["a"], body="hi")


def test_every_change_is_an_event(desk) -> None:
    """Create, assign, reply, note, status change each leave their event."""
    ticket = factories.ticket(email="e@kehu.cn")
    services.ticket_reply(ticket=ticket, actor=desk["a"], body="note", kind="note")
    services.ticket_reply(ticket=ticket, actor=desk["a"], body="reply")
    services.ticket_set_status(ticket=ticket, status="resolved", actor=desk["a"])
    actions = list(
        Event.objects.filter(object_id=ticket.pk, content_type__model="ticket")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["created", "assigned", "noted", "replied", "status_changed"]


def test_canned_responses_fill_placeholders_and_refuse_unknown_ones(desk) -> None:
    """{customer_name} and {ticket_number} are filled; a typo in a placeholder is refused when saved."""
    canned = services.canned_response_save(
        actor=None, title="问候", body="{customer_name}您好，工单 {ticket_number} 已收到。"
    )
    ticket = factories.ticket(email="g@kehu.cn", name="刘洋")
    assert (
        services.canned_render(canned=canned, ticket=ticket, agent=desk["a"])
        == f"刘洋您好，工单 {ticket.number} 已收到。"
    )
    with pytest.raises(ValidationError) as caught:
        services.canned_response_save(actor=None, title="x", body="{custmer_name}")
    assert "body" in caught.value.message_dict


def test_dangerous_attachments_are_refused(desk) -> None:
    """An .exe is refused naming the file, and nothing is written."""
    upload = services.Upload(filename="invoice.pdf.exe", content=b"MZ")
    with pytest.raises(ValidationError) as caught:
        factories.ticket(email="a@kehu.cn", attachments=[upload])
    assert "invoice.pdf.exe" in caught.value.message_dict["attachments"][0]
    assert not Ticket.objects.exists()


def test_the_sweep_warns_then_escalates_once(desk, make_user) -> None:
    """Before the deadline the assignee is warned; after it, the breach escalates by the policy (raise priority,
    move to the escalation queue, notify); running the sweep again changes nothing."""
    tier2 = factories.queue(name="二线 Tier 2", agents=[make_user("service")])
    services.sla_policy_save(actor=None, policy=desk["policy"], raise_priority=True, escalate_queue=tier2,
                             first_response_minutes=60, resolution_minutes=480)  # fmt: skip
    ticket = factories.ticket(email="s@kehu.cn", opened_at=at(9, 22, 9))
    assert services.sla_sweep(now=at(9, 22, 9, 50)) == {"warned": 1, "breached": 0}
    assert Notification.objects.filter(recipient=ticket.owner).count() == 2  # assigned + warning
    assert services.sla_sweep(now=at(9, 22, 9, 55)) == {"warned": 0, "breached": 0}
    assert services.sla_sweep(now=at(9, 22, 10, 1)) == {"warned": 0, "breached": 1}
    ticket.refresh_from_db()
    assert ticket.breached_at == at(9, 22, 10, 1) and ticket.priority == "high" and ticket.queue == tier2
    assert ticket.handoff_count == 1
    assert services.sla_sweep(now=at(9, 22, 11)) == {"warned": 0, "breached": 0}
    assert Event.objects.filter(object_id=ticket.pk, action="sla_breached").count() == 1


def test_a_waiting_ticket_does_not_breach(desk) -> None:
    """The sweep leaves tickets waiting on the customer alone: their clock is stopped."""
    ticket = factories.ticket(email="w@kehu.cn", opened_at=at(9, 22, 9))
    services.ticket_reply(ticket=ticket, actor=desk["a"], body="?", wait_on_customer=True, at=at(9, 22, 9, 10))
    assert services.sla_sweep(now=at(9, 29, 9)) == {"warned": 0, "breached": 0}
