"""The rule engine on the event outbox: triggers, conditions, actions through services, idempotence,
loop protection, failure isolation, dry runs, time triggers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from guanxi.automation import engine, services, triggers
from guanxi.automation.models import Rule, RuleRun
from guanxi.automation.triggers import cron_matches
from guanxi.core.events import events_dispatch_batch
from guanxi.core.models import CustomField, Event, Notification
from guanxi.core.services import custom_field_create
from guanxi.customers import services as customers
from guanxi.customers.models import Interaction, Lead

from ..customers import factories
from ..factories import TeamFactory, UserFactory
from .helpers import dispatch, group, make_rule, where

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return UserFactory(roles=["administrator"])


@pytest.fixture
def rep():
    return UserFactory(roles=["sales"], teams=[TeamFactory()])


def test_a_created_lead_fires_the_rule_once_and_its_actions_write_through_the_services(admin, rep):
    """Given an active rule on new web leads, when a lead is created and the outbox is drained (twice),
    then the owner is notified and a follow-up task exists — once."""
    make_rule(
        admin,
        conditions=where(group({"field": "source", "op": "eq", "value": "web"})),
        actions=[
            {"kind": "notify", "config": {"to": "owner", "message": "新线索 {{ record }}"}},
            {"kind": "create_task", "config": {"subject": "跟进 {{ full_name }}", "due_in_days": 2}},
        ],
    )
    lead = factories.lead(owner=rep, source="web")
    dispatch()
    Event.objects.filter(object_id=lead.pk, action="created").update(dispatched_at=None)  # a redelivery
    dispatch()
    assert Notification.objects.filter(recipient=rep).count() == 1
    tasks = Interaction.objects.filter(lead=lead, kind="task")
    assert [t.subject for t in tasks] == [f"跟进 {lead.full_name}"]
    assert tasks[0].assignee == rep
    run = RuleRun.objects.get()
    assert run.outcome == "ok" and run.record_id == lead.pk and len(run.actions_done) == 2
    assert run.inputs["record"]["source"] == "web"


def test_conditions_that_do_not_hold_run_nothing(admin, rep):
    """A referral lead does not match a web-only rule: no action, no run row."""
    make_rule(
        admin,
        conditions=where(group({"field": "source", "op": "eq", "value": "web"})),
        actions=[{"kind": "notify", "config": {"to": "owner", "message": "x"}}],
    )
    factories.lead(owner=rep, source="referral")
    dispatch()
    assert not Notification.objects.exists()
    assert not RuleRun.objects.exists()


def test_and_or_groups_custom_fields_and_related_fields(admin, rep):
    """(budget ≥ 100000 or tagged VIP) and owner email contains the rep's domain."""
    custom_field_create(actor=admin, record_type="lead", key="budget", label="预算", kind=CustomField.Kind.NUMBER)
    make_rule(
        admin,
        conditions=where(
            group(
                {"field": "custom.budget", "op": "gte", "value": 100000},
                {"field": "tags", "op": "contains", "value": "VIP"},
                match="any",
            ),
            group({"field": "owner.email", "op": "contains", "value": rep.email.split("@")[1]}),
        ),
        actions=[{"kind": "add_tag", "config": {"tag": "大客户"}}],
    )
    big = factories.lead(owner=rep, custom={"budget": 200000})
    small = factories.lead(owner=rep, custom={"budget": 10})
    vip = factories.lead(owner=rep, custom={"budget": 10}, tags=["VIP"])
    dispatch()
    assert [t.name for t in big.tags.all()] == ["大客户"]
    assert list(small.tags.all()) == []
    assert sorted(t.name for t in vip.tags.all()) == sorted(["VIP", "大客户"])


def test_field_changed_trigger_and_changed_to(admin, rep):
    """A lead whose status changes to qualified fires the rule; other changes do not."""
    make_rule(
        admin,
        trigger="field.changed",
        trigger_config={"model": "customers.lead", "field": "status", "to": "qualified"},
        actions=[{"kind": "notify", "config": {"to": "owner", "message": "{{ record }} qualified"}}],
    )
    lead = factories.lead(owner=rep)
    customers.lead_update(lead=lead, actor=rep, status="working")
    customers.lead_update(lead=lead, actor=rep, status="qualified")
    dispatch()
    assert Notification.objects.filter(recipient=rep).count() == 1


def test_a_rules_own_change_does_not_retrigger_it_and_chains_stop_at_the_depth_limit(admin, rep, settings):
    """Rule A (on update: set notes) would fire itself forever; it runs once per outside change.
    Two rules that keep changing the lead stop after AUTOMATION_MAX_DEPTH links."""
    settings.AUTOMATION_MAX_DEPTH = 3
    make_rule(
        admin,
        name="ping",
        trigger="record.updated",
        actions=[{"kind": "set_field", "config": {"field": "notes", "value": "ping"}}],
    )
    make_rule(
        admin,
        name="pong",
        trigger="record.updated",
        actions=[{"kind": "set_field", "config": {"field": "company_name", "value": "pong"}}],
    )
    lead = factories.lead(owner=rep)
    customers.lead_update(lead=lead, actor=rep, notes="by hand")
    for _ in range(10):
        dispatch()
    runs = RuleRun.objects.order_by("id")
    assert runs.count() < 10, "the chain stopped"
    assert runs.filter(outcome="skipped").exists()
    skipped = runs.filter(outcome="skipped").first()
    assert skipped is not None and skipped.error
    for event in Event.objects.filter(object_id=lead.pk, action="updated").exclude(actor=rep):
        chain = event.data["automation"]["chain"]
        assert len(chain) == len(set(chain)), "no rule appears twice in a chain"


def test_one_failing_rule_does_not_stop_the_others_and_its_error_is_logged(admin, rep):
    """Assigning to a team without members fails (logged, rolled back); the other rule still notifies."""
    empty = TeamFactory()
    make_rule(
        admin, name="assign", actions=[{"kind": "assign", "config": {"strategy": "round_robin", "team": empty.pk}}]
    )
    make_rule(admin, name="notify", actions=[{"kind": "notify", "config": {"to": "owner", "message": "hi"}}])
    with translation.override("en"):
        factories.lead(owner=rep)
        dispatch()
    failed = RuleRun.objects.get(rule__name="assign")
    assert failed.outcome == "failed" and "no active members" in failed.error
    assert RuleRun.objects.get(rule__name="notify").outcome == "ok"
    assert Notification.objects.filter(recipient=rep).count() == 1
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()


def test_round_robin_assignment_takes_turns_through_the_lead_service(admin, rep):
    """Three new leads go to the team's two members in turn; each change is the lead service's event."""
    a, b = UserFactory(roles=["sales"]), UserFactory(roles=["sales"])
    team = TeamFactory()
    team.members.set([a, b])
    make_rule(admin, actions=[{"kind": "assign", "config": {"strategy": "round_robin", "team": team.pk}}])
    leads = [factories.lead(owner=rep) for _ in range(3)]
    dispatch()
    owners = [Lead.objects.get(pk=lead.pk).owner for lead in leads]
    assert owners == [a, b, a]
    reassigned = [e for e in Event.objects.filter(content_type__model="lead") if "owner_id" in e.changes and e.data]
    assert len(reassigned) == 3 and all(e.data["automation"]["chain"] for e in reassigned)


def test_least_loaded_assignment_picks_the_member_with_fewest_records(admin, rep):
    a, b = UserFactory(roles=["sales"]), UserFactory(roles=["sales"])
    team = TeamFactory()
    team.members.set([a, b])
    factories.lead(owner=a)
    dispatch()
    make_rule(admin, actions=[{"kind": "assign", "config": {"strategy": "least_loaded", "team": team.pk}}])
    lead = factories.lead(owner=rep)
    dispatch()
    assert Lead.objects.get(pk=lead.pk).owner == b


def test_dry_run_shows_the_plan_and_writes_nothing(admin, rep):
    """A dry run on a chosen lead lists each condition's result and each action's plan; no task, no event."""
    rule = make_rule(
        admin,
        active=False,
        conditions=where(group({"field": "status", "op": "eq", "value": "new"})),
        actions=[
            {"kind": "set_field", "config": {"field": "status", "value": "working"}},
            {"kind": "create_task", "config": {"subject": "打电话 {{ record }}", "due_in_days": 1}},
        ],
    )
    lead = factories.lead(owner=rep)
    events_before = Event.objects.count()
    with translation.override("en"):
        result = engine.rule_dry_run(rule=rule, record=lead, actor=admin)
    assert result["conditions_hold"] is True
    assert [row["held"] for row in result["conditions"]] == [True]
    assert "working" in result["actions"][0]["plan"]
    assert "打电话" in result["actions"][1]["plan"]
    assert Lead.objects.get(pk=lead.pk).status == "new"
    assert not Interaction.objects.filter(lead=lead).exists()
    assert Event.objects.count() == events_before
    assert RuleRun.objects.get().dry_run is True


def test_saving_a_rule_checks_fields_types_and_users(admin):
    """Wrong field, wrong value type, unknown choice, deleted user: one error naming each."""
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        services.rule_create(
            actor=admin,
            name="bad",
            trigger="record.created",
            trigger_config={"model": "customers.lead"},
            conditions=where(
                group(
                    {"field": "budget_gone", "op": "eq", "value": 1},
                    {"field": "created_at", "op": "gt", "value": "not a date"},
                    {"field": "status", "op": "eq", "value": "hot"},
                    {"field": "notes", "op": "gt", "value": "a"},
                )
            ),
            actions=[{"kind": "create_task", "config": {"subject": "x", "assignee": 999999}}],
        )
    errors = caught.value.message_dict
    text = " ".join(errors["conditions"])
    assert "budget_gone" in text and "not a date" in text and "hot" in text and "notes" in text
    assert "999999" in " ".join(errors["actions"])
    assert not Rule.objects.filter(name="bad").exists()


def test_a_custom_field_deleted_after_save_is_caught_when_switching_on(admin):
    """Deactivating a custom field the rule uses: switching the rule on names the field."""
    field = custom_field_create(actor=admin, record_type="lead", key="region", label="区域", kind=CustomField.Kind.TEXT)
    rule = make_rule(
        admin,
        active=False,
        conditions=where(group({"field": "custom.region", "op": "eq", "value": "华东"})),
        actions=[{"kind": "notify", "config": {"to": "owner", "message": "x"}}],
    )
    field.active = False
    field.save()
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        services.rule_set_active(rule=rule, active=True, actor=admin)
    assert "custom.region" in str(caught.value)


def test_every_save_keeps_the_previous_definition(admin):
    rule = make_rule(admin, actions=[{"kind": "notify", "config": {"to": "owner", "message": "v1"}}])
    services.rule_update(
        rule=rule, actor=admin, actions=[{"kind": "notify", "config": {"to": "owner", "message": "v2"}}]
    )
    rule.refresh_from_db()
    assert rule.version == 2
    old = rule.versions.get()
    assert old.version == 1 and old.changed_by == admin and old.summary == "actions"
    assert old.definition["actions"][0]["config"]["message"] == "v1"


def test_no_activity_trigger_creates_one_follow_up_per_quiet_spell(admin, rep):
    """A lead untouched for 14 days gets one task, however often the sweep runs."""
    make_rule(
        admin,
        trigger="no_activity",
        trigger_config={"model": "customers.lead", "days": 14},
        actions=[{"kind": "create_task", "config": {"subject": "跟进 {{ record }}", "due_in_days": 1}}],
    )
    quiet = factories.lead(owner=rep)
    fresh = factories.lead(owner=rep)
    Lead.objects.filter(pk=quiet.pk).update(updated_at=timezone.now() - timedelta(days=20))
    assert engine.rules_sweep_timed() == 1
    assert engine.rules_sweep_timed() == 0
    assert Interaction.objects.filter(lead=quiet, kind="task").count() == 1
    assert not Interaction.objects.filter(lead=fresh, kind="task").exists()


def test_a_backlog_larger_than_one_sweep_drains_over_the_next_sweeps(admin, rep, monkeypatch):
    """With more quiet leads than one sweep may act on, each sweep takes the next ones: none is starved, none twice."""
    monkeypatch.setattr(engine, "SWEEP_CHUNK", 2)
    monkeypatch.setattr(triggers, "SWEEP_READ", 2)  # pages and key chunks smaller than the backlog
    make_rule(
        admin,
        trigger="no_activity",
        trigger_config={"model": "customers.lead", "days": 14},
        actions=[{"kind": "create_task", "config": {"subject": "跟进 {{ record }}", "due_in_days": 1}}],
    )
    quiet = [factories.lead(owner=rep) for _ in range(5)]
    Lead.objects.filter(pk__in=[lead.pk for lead in quiet]).update(updated_at=timezone.now() - timedelta(days=20))
    assert [engine.rules_sweep_timed(limit=2) for _ in range(4)] == [2, 2, 1, 0]
    tasks = Interaction.objects.filter(kind="task", lead__in=quiet)
    assert sorted(tasks.values_list("lead_id", flat=True)) == sorted(lead.pk for lead in quiet)


def test_deadline_and_schedule_triggers(admin, rep):
    """A task due within 2 hours triggers its reminder rule; a cron rule fires in its minute once."""
    lead = factories.lead(owner=rep)
    factories.task(about=lead, actor=rep, assignee=rep, due_at=timezone.now() + timedelta(hours=1))
    make_rule(
        admin,
        name="due soon",
        trigger="deadline",
        trigger_config={"model": "customers.interaction", "field": "due_at", "hours_before": 2},
        conditions=where(group({"field": "completed_at", "op": "is_empty", "value": True})),
        actions=[{"kind": "notify", "config": {"to": "owner", "message": "{{ subject }} due soon"}}],
    )
    make_rule(
        admin,
        name="weekly",
        trigger="schedule",
        trigger_config={"cron": "*/1 * * * *"},
        actions=[{"kind": "notify", "config": {"to": "administrators", "message": "周报 weekly"}}],
    )
    assert engine.rules_sweep_timed() == 2
    assert engine.rules_sweep_timed() == 0
    assert Notification.objects.filter(recipient=rep).count() == 1
    assert Notification.objects.filter(recipient=admin).count() == 1


def test_cron_expressions_are_checked_and_matched():
    moment = timezone.make_aware(timezone.datetime(2026, 11, 23, 9, 0))  # a Monday
    assert cron_matches("0 9 * * 1", moment)
    assert not cron_matches("0 9 * * 2", moment)
    assert cron_matches("*/15 8-10 * 11 1-5", moment)
    with translation.override("en"), pytest.raises(ValidationError, match="hour"):
        cron_matches("0 25 * * *", moment)


def test_rules_only_hear_their_model_and_action_through_the_index(admin, rep):
    """200 active rules on contacts cost nothing to a lead event: the index answers with none."""
    for n in range(200):
        Rule.objects.create(
            name=f"bulk {n}",
            active=True,
            trigger="record.created",
            trigger_config={"model": "customers.contact"},
            actions=[{"kind": "notify", "config": {"to": "owner", "message": "x"}}],
        )
    engine.index_invalidate()
    lead = factories.lead(owner=rep)
    event = Event.objects.get(object_id=lead.pk, action="created", content_type__model="lead")
    assert engine._index.get().rules_for("customers.lead", "created") == []
    assert len(engine._index.get().rules_for("customers.contact", "created")) == 200
    events_dispatch_batch()
    event.refresh_from_db()
    assert event.dispatched_at is not None and not RuleRun.objects.exists()


def test_starter_rules_are_shipped_off_and_can_all_be_switched_on(admin):
    """The five starter rules arrive switched off, and each is valid as shipped: switching it on works."""
    rules = [r for r in Rule.objects.filter(created_by__isnull=True)]
    assert len(rules) >= 5 and not any(r.active for r in rules)
    for rule in rules:
        services.rule_set_active(rule=rule, active=True, actor=admin)
    assert Rule.objects.filter(active=True).count() == len(rules)


def test_the_starter_lead_follow_up_rule_works_when_switched_on(admin, rep):
    rule = Rule.objects.get(trigger="no_activity", trigger_config__model="customers.lead")
    services.rule_set_active(rule=rule, active=True, actor=admin)
    engine.index_invalidate()
    quiet = factories.lead(owner=rep)
    Lead.objects.filter(pk=quiet.pk).update(updated_at=timezone.now() - timedelta(days=15))
    engine.rules_sweep_timed()
    assert Interaction.objects.filter(lead=quiet, kind="task", assignee=rep).count() == 1
    assert Notification.objects.filter(recipient=rep).count() == 1


def test_the_starter_high_value_quiet_account_rule_alerts_the_owner(admin, rep):
    rule = Rule.objects.get(trigger="no_activity", trigger_config__model="customers.account")
    services.rule_set_active(rule=rule, active=True, actor=admin)
    engine.index_invalidate()
    key = factories.account(owner=rep, tier="key")
    small = factories.account(owner=rep, tier="small")
    Lead.objects.none()
    from guanxi.customers.models import Account

    Account.objects.filter(pk__in=[key.pk, small.pk]).update(updated_at=timezone.now() - timedelta(days=40))
    engine.rules_sweep_timed()
    assert [n.url for n in Notification.objects.filter(recipient=rep)] == [key.get_absolute_url()]


def test_a_rule_whose_team_was_deleted_shows_the_problem_and_logs_failed_runs(admin, rep):
    """Given an active rule assigning to a team, when the team is deleted, then the rule's page lists the
    problem and a run it attempts is logged as failed naming the team; other rules still act."""
    from guanxi.automation import selectors

    team = TeamFactory()
    UserFactory(roles=["sales"], teams=[team])
    broken = make_rule(admin, actions=[{"kind": "assign", "config": {"strategy": "round_robin", "team": team.pk}}])
    fine = make_rule(admin, actions=[{"kind": "notify", "config": {"to": "owner", "message": "新线索 {{ record }}"}}])
    gone = team.pk
    team.delete()
    with translation.override("en"):
        assert any(f"team {gone} does not exist" in p for p in selectors.rule_problems(broken))
        factories.lead(owner=rep)
        dispatch()
    run = RuleRun.objects.get(rule=broken)
    assert run.outcome == RuleRun.Outcome.FAILED and f"team {gone} does not exist" in run.error
    assert RuleRun.objects.get(rule=fine).outcome == RuleRun.Outcome.OK
    assert Notification.objects.filter(recipient=rep).count() == 1


def test_the_batch_path_writes_one_run_per_rule_and_event_and_skips_rules_that_cannot_match(admin, rep):
    """Given rules gated by `source = web` and `source = partner`, when 30 web leads are drained in one batch
    (twice: a redelivery), then each web rule has exactly one run per lead and the partner rule none."""
    web = make_rule(admin, conditions=where(group({"field": "source", "op": "eq", "value": "web"})),
                    actions=[{"kind": "notify", "config": {"to": "owner", "message": "{{ record }}"}}])  # fmt: skip
    partner = make_rule(admin, conditions=where(group({"field": "source", "op": "eq", "value": "partner"})),
                        actions=[{"kind": "notify", "config": {"to": "owner", "message": "{{ record }}"}}])  # fmt: skip
    leads = [factories.lead(owner=rep, source="web") for _ in range(30)]
    dispatch()
    Event.objects.filter(action="created", object_id__in=[lead.pk for lead in leads]).update(dispatched_at=None)
    dispatch()
    assert RuleRun.objects.filter(rule=web).count() == 30
    assert sorted(RuleRun.objects.filter(rule=web).values_list("record_id", flat=True)) == sorted(
        lead.pk for lead in leads
    )
    assert not RuleRun.objects.filter(rule=partner).exists()
    assert Notification.objects.filter(recipient=rep).count() == 30
