"""The event spine: one row per change inside the service's transaction, dispatched at least once, in order."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from guanxi.core import events
from guanxi.core.events import events_dispatch_batch, record_event
from guanxi.core.models import Event, Job, Notification
from guanxi.core.services import team_create, user_update
from guanxi.core.tasks import events_dispatch

from ..factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def handler():
    """Register a recording handler for the test, and remove it afterwards."""
    seen = []
    failing = set()

    def record(event):
        if event.pk in failing:
            raise RuntimeError("boom")
        seen.append(event.pk)

    events.event_handler(record)
    yield seen, failing
    events._handlers.remove(record)


@pytest.mark.django_db(transaction=True)
def test_record_event_refuses_to_run_outside_a_transaction():
    team = TeamFactory()
    with pytest.raises(RuntimeError):
        record_event(obj=team, action="updated", actor=None)


def test_a_service_records_who_changed_what_from_what_to_what(world):
    admin, user = world["users"]["administrator"], world["users"]["nobody"]
    old_name = user.full_name
    user_update(user=user, actor=admin, full_name="新名字 New name")
    event = Event.objects.for_object(user).latest("id")
    assert event.action == "updated"
    assert event.actor == admin
    assert event.changes == {"full_name": [old_name, "新名字 New name"]}


def test_a_failed_service_leaves_no_event_and_no_change(world):
    admin = world["users"]["administrator"]
    before = Event.objects.count()
    with pytest.raises(ValidationError), transaction.atomic():
        team_create(name="", actor=admin)
    assert Event.objects.count() == before


def test_dispatch_hands_every_event_to_handlers_in_order_and_marks_them(handler):
    seen, _failing = handler
    actor = UserFactory()
    team = team_create(name="一队", actor=actor)
    with transaction.atomic():
        record_event(obj=team, action="updated", actor=actor)
    pending = list(Event.objects.undispatched().values_list("pk", flat=True))
    events_dispatch.apply()
    assert seen == pending
    assert not Event.objects.undispatched().exists()


def test_a_failing_handler_holds_back_that_objects_later_events_but_not_others(handler, settings):
    seen, failing = handler
    actor = UserFactory()
    Event.objects.update(dispatched_at="2026-01-01T00:00:00Z")
    first_team = team_create(name="甲", actor=actor)
    other_team = team_create(name="乙", actor=actor)
    with transaction.atomic():
        later = record_event(obj=first_team, action="updated", actor=actor)
    first = Event.objects.for_object(first_team).earliest("id")
    failing.add(first.pk)
    events_dispatch_batch()
    assert first.pk not in seen and later.pk not in seen
    assert Event.objects.for_object(other_team).get().pk in seen
    first.refresh_from_db()
    assert first.dispatch_attempts == 1 and "boom" in first.dispatch_error
    failing.clear()
    events_dispatch_batch()
    assert later.pk not in seen, "the object's events wait out the retry back-off, in order"
    Event.objects.filter(pk=first.pk).update(dispatch_after=None)
    events_dispatch_batch()
    assert seen[-2:] == [first.pk, later.pk]


def test_an_event_that_keeps_failing_is_set_aside_after_the_attempt_limit(handler, settings):
    settings.EVENT_DISPATCH_MAX_ATTEMPTS = 2
    _seen, failing = handler
    team = team_create(name="丙", actor=None)
    event = Event.objects.for_object(team).get()
    failing.add(event.pk)
    events_dispatch_batch()
    Event.objects.filter(pk=event.pk).update(dispatch_after=None)
    events_dispatch_batch()
    event.refresh_from_db()
    assert event.dispatched_at is not None and event.dispatch_attempts == 2


def test_the_job_finished_notification_is_sent_once_even_if_the_event_is_delivered_twice():
    owner = UserFactory(roles=["sales"])
    job = Job.objects.create(kind="core.audit_export", owner=owner)
    from guanxi.core.jobs import job_execute

    job_execute(job.pk)
    events_dispatch_batch()
    Event.objects.update(dispatched_at=None)
    events_dispatch_batch()
    notes = Notification.objects.filter(recipient=owner)
    assert notes.count() == 1
    assert f"#{job.pk}" in notes.get().text


def test_the_history_panel_shows_field_labels_and_copes_with_list_values(make_user, login):
    """Field names become their labels, choice values their labels, and list-valued changes still render."""
    admin = make_user("administrator", language="en")
    team = team_create(name="丁", actor=admin)
    member = make_user("sales")
    from guanxi.core.services import team_update

    team_update(team=team, actor=admin, members=[member], name="丁二")
    page = login(admin).get(f"/settings/teams/{team.pk}/").content.decode()
    assert '<span class="fw-medium">name</span>:' in page
    assert '<span class="fw-medium">members</span>:' in page, "a list-valued change renders under its label"


def test_two_partitions_split_the_events_by_record_and_together_settle_all_in_order(handler):
    """With two dispatch partitions (two workers), each takes only its records' events, in order per record,
    and between them every event is handed out once."""
    seen, _failing = handler
    Event.objects.update(dispatched_at=None)
    teams = [TeamFactory() for _ in range(4)]
    for team in teams:
        with transaction.atomic():
            record_event(obj=team, action="updated", actor=None)
    pending = list(Event.objects.filter(dispatched_at__isnull=True).order_by("id"))
    events_dispatch(partition=0, partitions=2)
    first = list(seen)
    assert first and all(e.object_id % 2 == 0 for e in pending if e.pk in first)
    events_dispatch(partition=1, partitions=2)
    assert sorted(seen) == [e.pk for e in pending] and len(seen) == len(set(seen))
    for team in teams:  # a record's events stay in id order
        mine = [pk for pk in seen if pk in {e.pk for e in pending if e.object_id == team.pk}]
        assert mine == sorted(mine)


def test_the_beat_schedules_one_dispatch_per_partition(settings):
    """EVENT_DISPATCH_PARTITIONS=2 gives beat two dispatch entries, one per partition (see settings.py)."""
    import importlib
    import os

    from guanxi import settings as guanxi_settings

    os.environ["EVENT_DISPATCH_PARTITIONS"] = "2"
    try:
        schedule = importlib.reload(guanxi_settings).CELERY_BEAT_SCHEDULE
    finally:
        del os.environ["EVENT_DISPATCH_PARTITIONS"]
        importlib.reload(guanxi_settings)
    kwargs = [e["kwargs"] for e in schedule.values() if e["task"] == "guanxi.core.tasks.events_dispatch"]
    assert kwargs == [{"partition": 0, "partitions": 2}, {"partition": 1, "partitions": 2}]
