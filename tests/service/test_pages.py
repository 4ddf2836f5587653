"""The service desk pages as an agent uses them: queue tabs with SLA clocks, new ticket, reply, status, settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from guanxi.service import services
from guanxi.service.models import Ticket

from . import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_desk(world):
    agent = world["users"]["service"]
    agent.language = "en"
    agent.save()
    queue = factories.queue(team=world["teams"]["east"], agents=[agent], is_default=True)
    factories.policy(cal=factories.calendar(hours={str(d): [["00:00", "24:00"]] for d in range(7)}))
    return {"agent": agent, "queue": queue}


def test_the_queue_shows_my_tickets_with_clocks_and_a_breached_tab(agent_desk, login) -> None:
    """My tickets show a running clock; a ticket past its deadline shows on the overdue tab as overdue."""
    client = login(agent_desk["agent"])
    fresh = factories.ticket(email="a@kehu.cn")
    late = factories.ticket(email="b@kehu.cn", opened_at=timezone.now() - timedelta(hours=3))
    page = client.get(reverse("ticket-queue"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert fresh.subject in page and 'data-sla-state="ok"' in page
    overdue = client.get(reverse("ticket-queue") + "?tab=overdue").content.decode()
    assert late.subject in overdue and fresh.subject not in overdue and 'data-sla-state="breached"' in overdue


def test_the_queue_page_runs_a_fixed_number_of_queries(agent_desk, login) -> None:
    """Five or twenty-five tickets cost the same queries (no N+1 on owner, queue or policy)."""
    client = login(agent_desk["agent"])
    for i in range(5):
        factories.ticket(email=f"q{i}@kehu.cn")
    client.get(reverse("ticket-queue"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("ticket-queue"))
    for i in range(20):
        factories.ticket(email=f"r{i}@kehu.cn")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("ticket-queue"))
    assert len(many) == len(few)


def test_an_agent_logs_a_phone_ticket_and_answers_it(agent_desk, login) -> None:
    """New ticket form → ticket page → public reply → resolved, all through the pages."""
    client = login(agent_desk["agent"])
    response = client.post(
        reverse("ticket-create"),
        {"subject": "电话：无法开票", "body": "客户来电说开票失败", "channel": "phone", "phone": "13800001111",
         "priority": "normal"},
    )  # fmt: skip
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url()
    assert ticket.owner == agent_desk["agent"] and ticket.lead is not None
    client.post(reverse("ticket-reply", args=[ticket.pk]), {"body": "已为您重新开票。", "kind": "reply"})
    client.post(reverse("ticket-status", args=[ticket.pk]), {"status": "resolved"})
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None and ticket.status == "resolved"
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "已为您重新开票。" in page


def test_bad_reply_shows_the_error_on_the_form(agent_desk, login) -> None:
    """A dangerous attachment is refused on the form with the file named; nothing is added."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(agent_desk["agent"])
    ticket = factories.ticket(email="c@kehu.cn")
    upload = SimpleUploadedFile("fix.bat", b"@echo off")
    response = client.post(
        reverse("ticket-reply", args=[ticket.pk]),
        {"body": "run this", "kind": "reply", "attachment": upload},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200 and "fix.bat" in response.content.decode()
    assert ticket.messages.count() == 1


def test_canned_responses_are_offered_filled_in(agent_desk, login) -> None:
    """The reply box offers canned responses with the customer's name already filled in."""
    services.canned_response_save(actor=None, title="问候", body="{customer_name}您好！")
    ticket = factories.ticket(email="d@kehu.cn", name="周杰")
    page = login(agent_desk["agent"]).get(ticket.get_absolute_url()).content.decode()
    import json

    assert json.dumps("周杰您好！")[1:-1] in page  # inside the canned-data JSON script


def test_settings_load_chinas_calendar(world, login) -> None:
    """The administrator adds a calendar and loads 2026's official days from the calendar page."""
    client = login(world["users"]["administrator"])
    client.post(
        reverse("calendar-create"),
        {"name": "北京 Beijing", "time_zone": "Asia/Shanghai", "day0": "09:00-18:00", "day1": "09:00-18:00"},
    )
    from guanxi.service.models import BusinessCalendar

    calendar = BusinessCalendar.objects.get()
    assert calendar.hours == {"0": [["09:00", "18:00"]], "1": [["09:00", "18:00"]]}
    client.post(reverse("calendar-load-china", args=[calendar.pk]), {"year": 2026})
    page = client.get(reverse("calendar-detail", args=[calendar.pk]) + "?year=2026").content.decode()
    assert "2026-10-01" in page and calendar.days.filter(kind="workday").exists()


def test_measures_count_open_overdue_and_breached_per_agent_and_queue(agent_desk, login) -> None:
    """One late ticket swept into breach shows as open, overdue and breached for the agent and the queue."""
    factories.ticket(email="m@kehu.cn", opened_at=timezone.now() - timedelta(hours=20))
    services.sla_sweep()
    client = login(agent_desk["agent"])
    data = client.get("/api/v1/service/stats").json()
    assert data["agents"] == [
        {"id": agent_desk["agent"].pk, "name": agent_desk["agent"].full_name, "open": 1, "overdue": 1, "breached": 1}
    ]
    assert data["queues"][0]["breached"] == 1
    assert client.get(reverse("service-measures")).status_code == 200


def test_anyone_can_ask_for_help_on_the_public_web_form(agent_desk, client) -> None:
    """Without signing in, a visitor's request becomes a web-form ticket for a new lead, and its number is shown."""
    response = client.post(
        reverse("service-web-request"),
        {"name": "赵敏", "email": "zhao.min@kehu.example.cn", "subject": "如何导出发票", "body": "找不到导出按钮"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    ticket = Ticket.objects.get()
    assert ticket.channel == "web_form" and ticket.lead is not None and ticket.owner == agent_desk["agent"]
    assert f'data-ticket-number="{ticket.number}"' in response.content.decode()


def test_the_web_form_refuses_bots_and_bad_input(agent_desk, client) -> None:
    """A filled trap field or a broken email is refused on the form; no ticket is filed."""
    bot = client.post(
        reverse("service-web-request"),
        {"name": "x", "email": "x@kehu.example.cn", "subject": "s", "body": "b", "website": "http://spam"},
    )
    bad = client.post(reverse("service-web-request"), {"name": "x", "email": "nope", "subject": "s", "body": "b"})
    assert bot.status_code == bad.status_code == 200
    assert not Ticket.objects.exists()
