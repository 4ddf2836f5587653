"""Interactions and follow-up tasks: logged with named errors, reminded once, merged into one timeline per customer."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from guanxi.core.models import Event, Notification
from guanxi.customers import selectors, services, tasks
from guanxi.customers.models import Interaction

from ..factories import TeamFactory, UserFactory
from . import factories

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def sales(world):
    return world["users"]["sales"]


def post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


# --- logging ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"kind": "call", "subject": "回访", "duration": -5}, "duration"),
        ({"kind": "call", "subject": "回访", "occurred_at": timezone.now() + timedelta(days=3)}, "occurred_at"),
        ({"kind": "task", "subject": "发报价"}, "due_at"),
        ({"kind": "call"}, "subject"),
        ({"kind": "call", "subject": "回访", "due_at": timezone.now()}, "due_at"),
        ({"kind": "gossip", "subject": "回访"}, "kind"),
    ],
)
def test_a_bad_interaction_is_refused_naming_the_field(sales, fields, named):
    """Given a bad value, logging refuses with an error under that field's name and writes nothing."""
    contact = factories.contact(owner=sales)
    with pytest.raises(ValidationError) as exc:
        services.interaction_log(actor=sales, about=contact, **fields)
    assert list(exc.value.message_dict) == [named]
    assert not Interaction.objects.exists()


def test_a_task_may_be_due_in_the_future_and_a_call_may_be_later_today(sales):
    contact = factories.contact(owner=sales)
    soon = timezone.now() + timedelta(hours=3)
    call = services.interaction_log(actor=sales, about=contact, kind="call", subject="跨时区 call", occurred_at=soon)
    task = factories.task(about=contact, actor=sales, due_at=timezone.now() + timedelta(days=30))
    assert call.occurred_at == soon and task.due_at > soon


def test_logging_an_interaction_records_who_did_it_and_an_event(sales):
    """The actor is the one who did it and owns it; the event names the customer it is about."""
    contact = factories.contact(owner=sales)
    call = services.interaction_log(
        actor=sales, about=contact, kind="call", channel="phone", direction="inbound", duration=12,
        subject="询价 price enquiry", outcome="报价下周发",
    )  # fmt: skip
    assert (call.done_by, call.owner, call.contact, call.about) == (sales, sales, contact, contact)
    event = Event.objects.for_object(call).get()
    assert event.action == "created" and event.actor == sales
    assert event.data == {"about": {"type": "contact", "id": contact.pk}}
    assert event.changes["duration"] == [None, 12]


def test_an_interaction_is_about_exactly_one_record(sales):
    """The database itself refuses an interaction about two records, or about none."""
    contact, account = factories.contact(owner=sales), factories.account(owner=sales)
    with pytest.raises(IntegrityError), transaction.atomic():
        Interaction.objects.create(kind="note", body="两个", contact=contact, account=account)
    with pytest.raises(IntegrityError), transaction.atomic():
        Interaction.objects.create(kind="note", body="没有")


# --- tasks ------------------------------------------------------------------------------------


def test_completing_a_task_records_when_and_who(sales):
    task = factories.task(about=factories.lead(owner=sales), actor=sales)
    services.task_complete(task=task, actor=sales)
    task.refresh_from_db()
    assert task.completed_at is not None
    assert Event.objects.for_object(task).filter(action="completed", actor=sales).exists()
    with pytest.raises(ValidationError) as again:
        services.task_complete(task=task, actor=sales)
    assert list(again.value.message_dict) == ["completed_at"]


def test_only_a_task_can_be_completed(sales):
    call = factories.interaction(about=factories.account(owner=sales), actor=sales)
    with pytest.raises(ValidationError) as exc:
        services.task_complete(task=call, actor=sales)
    assert list(exc.value.message_dict) == ["kind"]


def test_due_tasks_are_reminded_once_even_when_the_sweep_runs_twice(world, sales):
    """Open tasks due within the hour or overdue remind their assignee (else owner) once; others wait."""
    service = world["users"]["service"]
    contact = factories.contact(owner=sales, surname="张", given_name="伟")
    now = timezone.now()
    soon = factories.task(about=contact, actor=sales, subject="发报价", due_at=now + timedelta(minutes=30))
    overdue = factories.task(about=contact, actor=sales, assignee=service, due_at=now - timedelta(days=1))
    later = factories.task(about=contact, actor=sales, due_at=now + timedelta(hours=3))
    done = factories.task(about=contact, actor=sales, due_at=now - timedelta(hours=2))
    services.task_complete(task=done, actor=sales)

    assert services.tasks_remind_due(now=now) == 2
    assert services.tasks_remind_due(now=now) == 0
    assert tasks.tasks_remind_due.delay().get() == 0

    notes = {n.recipient: n for n in Notification.objects.all()}
    assert set(notes) == {sales, service}
    assert notes[sales].text == "Task due: 发报价 (张伟)" and notes[sales].url == contact.get_absolute_url()
    assert notes[sales].title == "Task due: %(subject)s (%(record)s)"  # stored untranslated
    for task in (soon, overdue, later, done):
        task.refresh_from_db()
    assert soon.reminded_at and overdue.reminded_at and not later.reminded_at and not done.reminded_at
    assert services.tasks_remind_due(now=now + timedelta(hours=2, minutes=30)) == 1  # `later` falls due


def test_the_reminder_sweep_runs_every_five_minutes():
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["guanxi.customers.tasks.tasks_remind_due"] == 300.0


# --- the one timeline -------------------------------------------------------------------------


def _shape(items):
    return [(item.type, item.interaction.subject if item.interaction else item.event.action) for item in items]


def test_the_timeline_merges_interactions_and_events_newest_first(sales):
    """A call logged as having happened before the contact was entered sorts below the creation."""
    now = timezone.now()
    contact = factories.contact(owner=sales)
    factories.interaction(about=contact, actor=sales, subject="去年的电话", occurred_at=now - timedelta(days=300))
    services.contact_update(contact=contact, actor=sales, title="采购经理")
    factories.interaction(about=contact, actor=sales, subject="今天的拜访", kind="visit")
    items = selectors.customer_timeline(record=contact, user=sales)
    assert _shape(items) == [
        ("interaction", "今天的拜访"),
        ("event", "updated"),
        ("event", "created"),
        ("interaction", "去年的电话"),
    ]
    assert [item.at for item in items] == sorted((item.at for item in items), reverse=True)


def test_a_converted_contact_keeps_the_leads_interactions(sales):
    lead = factories.lead(owner=sales, surname="王", given_name="芳")
    factories.interaction(about=lead, actor=sales, subject="首次来电")
    contact, _account = services.lead_convert(lead=lead, actor=sales)
    subjects = [i.interaction.subject for i in selectors.customer_timeline(record=contact, user=sales) if i.interaction]
    assert subjects == ["首次来电"]


def test_an_accounts_timeline_shows_its_contacts_interactions_only_where_the_user_may_see_them(world, sales):
    """Sales sees the calls with their own contact at the account, not those with an outsider's contact."""
    outsider = UserFactory(roles=["sales"], teams=[TeamFactory()])
    account = factories.account(owner=sales, name="华为")
    mine = factories.contact(owner=sales, accounts=[(account, "采购")])
    theirs = factories.contact(owner=outsider, team=outsider.teams.first(), accounts=[(account, "财务")])
    factories.interaction(about=account, actor=sales, subject="公司拜访", kind="visit")
    factories.interaction(about=mine, actor=sales, subject="和我的联系人通话")
    factories.interaction(about=theirs, actor=outsider, subject="别人的通话")
    subjects = {i.interaction.subject for i in selectors.customer_timeline(record=account, user=sales) if i.interaction}
    assert subjects == {"公司拜访", "和我的联系人通话"}
    admin = world["users"]["administrator"]
    everything = {
        i.interaction.subject for i in selectors.customer_timeline(record=account, user=admin) if i.interaction
    }
    assert "别人的通话" in everything


# --- API --------------------------------------------------------------------------------------


def test_logging_a_call_through_the_api(sales, bearer):
    contact = factories.contact(owner=sales)
    response = post(
        bearer(sales),
        f"/api/v1/contacts/{contact.pk}/interactions",
        {"kind": "call", "channel": "wechat", "direction": "inbound", "duration": 7, "subject": "微信语音"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["contact_id"] == contact.pk and body["done_by_id"] == sales.pk and body["duration"] == 7
    listed = bearer(sales).get(f"/api/v1/contacts/{contact.pk}/interactions").json()
    assert [row["id"] for row in listed["items"]] == [body["id"]]


def test_a_bad_interaction_in_the_api_names_the_field(sales, bearer):
    account = factories.account(owner=sales)
    response = post(bearer(sales), f"/api/v1/accounts/{account.pk}/interactions", {"kind": "task", "subject": "跟进"})
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["due_at"]


def test_a_task_for_a_colleague_through_the_api_is_on_their_list_until_completed(world, sales, bearer):
    service = world["users"]["service"]
    lead = factories.lead(owner=sales)
    due = (timezone.now() + timedelta(days=1)).isoformat()
    created = post(
        bearer(sales),
        f"/api/v1/leads/{lead.pk}/interactions",
        {"kind": "task", "subject": "回电", "due_at": due, "assignee_id": service.pk},
    ).json()
    mine = bearer(service).get("/api/v1/tasks", {"mine": "true", "open": "true"}).json()
    assert [row["id"] for row in mine["items"]] == [created["id"]]
    done = post(bearer(service), f"/api/v1/tasks/{created['id']}/complete")
    assert done.status_code == 200 and done.json()["completed_at"]
    assert bearer(service).get("/api/v1/tasks").json()["items"] == []
    assert len(bearer(service).get("/api/v1/tasks", {"open": "false"}).json()["items"]) == 1


def test_the_timeline_endpoint_pages_interactions_and_events(sales, bearer):
    contact = factories.contact(owner=sales)
    factories.interaction(about=contact, actor=sales, subject="电话")
    response = bearer(sales).get(f"/api/v1/contacts/{contact.pk}/timeline")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["type"] for item in items] == ["interaction", "event"]
    assert items[0]["interaction"]["subject"] == "电话" and items[0]["event"] is None
    assert items[1]["event"]["action"] == "created" and items[1]["event"]["object_type"] == "contact"


def test_the_timeline_endpoint_does_not_query_per_item(sales, bearer):
    contact = factories.contact(owner=sales)
    client = bearer(sales)
    factories.interaction(about=contact, actor=sales)
    client.get(f"/api/v1/contacts/{contact.pk}/timeline")
    with CaptureQueriesContext(connection) as few:
        client.get(f"/api/v1/contacts/{contact.pk}/timeline")
    for _ in range(4):
        factories.interaction(about=contact, actor=sales)
        services.contact_update(contact=contact, actor=sales, title=f"经理 {_}")
    with CaptureQueriesContext(connection) as many:
        client.get(f"/api/v1/contacts/{contact.pk}/timeline")
    assert len(many) == len(few)


# --- pages ------------------------------------------------------------------------------------


def test_logging_a_meeting_on_its_page_puts_it_on_the_timeline(sales, login):
    account = factories.account(owner=sales)
    client = login(sales)
    detail = client.get(account.get_absolute_url(), **ENGLISH).content.decode()
    assert "Timeline" in detail and reverse("account-interaction-log", args=[account.pk]) in detail
    response = client.post(
        reverse("account-interaction-log", args=[account.pk]),
        {"kind": "meeting", "channel": "in_person", "direction": "outbound", "occurred_at": "2026-01-05T10:00",
         "duration": "45", "subject": "年度合同谈判", "outcome": "同意续约"},
        **ENGLISH,
    )  # fmt: skip
    assert response.status_code == 302 and response.url == account.get_absolute_url()
    page = client.get(account.get_absolute_url(), **ENGLISH).content.decode()
    assert "年度合同谈判" in page and "Meeting" in page and "45 minutes" in page and "Outcome: 同意续约" in page
    assert "created" in page  # the account's own history is on the same timeline


def test_a_bad_value_in_the_form_is_shown_on_its_field(sales, login):
    contact = factories.contact(owner=sales)
    response = login(sales).post(
        reverse("contact-interaction-log", args=[contact.pk]),
        {"kind": "call", "direction": "outbound", "occurred_at": "2026-01-05T10:00", "duration": "-3", "subject": "x"},
        **ENGLISH,
    )
    assert response.status_code == 200
    assert response.context["form"].errors["duration"] == ["The duration cannot be negative."]
    assert not Interaction.objects.exists()


def test_my_tasks_lists_open_tasks_and_completes_them(sales, login):
    contact = factories.contact(owner=sales, surname="张", given_name="伟")
    client = login(sales)
    response = client.post(
        reverse("contact-interaction-log", args=[contact.pk]),
        {"kind": "task", "direction": "internal", "occurred_at": "2026-01-05T10:00",
         "due_at": "2026-01-06T10:00", "subject": "寄样品"},
        **ENGLISH,
    )  # fmt: skip
    assert response.status_code == 302
    task = Interaction.objects.get()
    assert task.assignee == sales  # no one picked: the one who logs it
    page = client.get(reverse("task-list"), **ENGLISH).content.decode()
    assert "寄样品" in page and "Overdue since" in page and reverse("task-complete", args=[task.pk]) in page
    assert "My tasks" in page  # in the menu
    assert client.post(reverse("task-complete", args=[task.pk]), **ENGLISH).status_code == 302
    after = client.get(reverse("task-list"), **ENGLISH).content.decode()
    assert "Task “寄样品” completed." in after and "No open tasks." in after


def test_the_contact_page_does_not_query_per_timeline_item(sales, login):
    contact = factories.contact(owner=sales)
    client = login(sales)
    factories.interaction(about=contact, actor=sales)
    client.get(contact.get_absolute_url())
    with CaptureQueriesContext(connection) as few:
        client.get(contact.get_absolute_url())
    for n in range(4):
        factories.task(about=contact, actor=sales)
        services.contact_update(contact=contact, actor=sales, title=f"经理 {n}")
    with CaptureQueriesContext(connection) as many:
        client.get(contact.get_absolute_url())
    assert len(many) == len(few)
