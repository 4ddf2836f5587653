"""Deals move through their pipeline under the stages' rules, and every move is an event with its stages."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from guanxi.core.models import Event
from guanxi.customers.models import Lead
from guanxi.sales import services
from guanxi.sales.models import AssignmentRule, Deal, DealStatus, DealTask

from ..customers import factories as customer_factories
from . import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def events_of(deal: Deal, action: str) -> list[Event]:
    return list(Event.objects.for_object(deal).filter(action=action).order_by("id"))


def test_a_new_deal_starts_in_the_first_open_stage_and_records_created(make_user):
    """Given no stage, the deal opens in the pipeline's first stage, owned by its creator, in CNY."""
    rep = make_user("sales")
    deal = factories.deal(owner=rep, amount="120000")
    assert deal.stage.position == 0
    assert deal.status == DealStatus.OPEN
    assert deal.owner == rep
    assert deal.amount == Decimal("120000.00")
    assert deal.amount_cny == Decimal("120000.00")
    assert events_of(deal, "created")[0].data["to_name"] == deal.stage.name


def test_moving_into_a_stage_whose_required_field_is_empty_is_refused_naming_the_field(make_user):
    """ "Quote sent" requires an amount: without one the move fails with an error on `amount`, nothing saved."""
    rep = make_user("sales")
    pipeline = factories.pipeline()
    deal = factories.deal(owner=rep, pipeline=pipeline)
    quote_sent = factories.stage(pipeline, 2)
    with pytest.raises(ValidationError) as exc:
        services.deal_move(deal=deal, stage=quote_sent, actor=rep)
    assert list(exc.value.message_dict) == ["amount"]
    assert "Amount is required" in exc.value.message_dict["amount"][0]
    assert quote_sent.name in exc.value.message_dict["amount"][0]
    deal.refresh_from_db()
    assert deal.stage.position == 0
    assert not events_of(deal, "stage_changed")


def test_the_required_field_error_is_translated(make_user):
    rep = make_user("sales")
    pipeline = factories.pipeline()
    deal = factories.deal(owner=rep, pipeline=pipeline)
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        services.deal_move(deal=deal, stage=factories.stage(pipeline, 2), actor=rep)
    assert "amount" in exc.value.message_dict


def test_a_stage_change_records_from_and_to_stage_ids_names_and_time_in_stage(make_user):
    rep = make_user("sales")
    pipeline = factories.pipeline()
    deal = factories.deal(owner=rep, pipeline=pipeline, amount="5000")
    first, second = factories.stage(pipeline, 0), factories.stage(pipeline, 2)
    Deal.objects.filter(pk=deal.pk).update(stage_entered_at=timezone.now() - timedelta(hours=5))
    deal.refresh_from_db()
    services.deal_move(deal=deal, stage=second, actor=rep)
    (event,) = events_of(deal, "stage_changed")
    assert event.data["from_stage"] == first.pk and event.data["to_stage"] == second.pk
    assert event.data["from_name"] == first.name and event.data["to_name"] == second.name
    assert 5 * 3600 - 5 <= event.data["seconds_in_stage"] <= 5 * 3600 + 60
    assert event.changes["stage"] == [first.name, second.name]
    assert event.actor == rep


def test_moving_to_lost_needs_a_lost_reason_and_then_closes_the_deal(make_user):
    rep = make_user("sales")
    pipeline = factories.pipeline()
    deal = factories.deal(owner=rep, pipeline=pipeline)
    lost = factories.stage(pipeline, 5)
    with pytest.raises(ValidationError) as exc:
        services.deal_move(deal=deal, stage=lost, actor=rep)
    assert "lost_reason" in exc.value.message_dict
    reason = factories.lost_reason()
    services.deal_move(deal=deal, stage=lost, actor=rep, lost_reason=reason, lost_note="选了别家")
    deal.refresh_from_db()
    assert deal.status == DealStatus.LOST
    assert deal.closed_at is not None
    assert deal.lost_reason == reason and deal.lost_note == "选了别家"
    assert events_of(deal, "stage_changed")[0].data["lost_reason"] == reason.pk


def test_winning_sets_closed_at_and_reopening_clears_it(make_user):
    rep = make_user("sales")
    pipeline = factories.pipeline()
    deal = factories.deal(owner=rep, pipeline=pipeline)
    services.deal_move(deal=deal, stage=factories.stage(pipeline, 4), actor=rep)
    assert deal.status == DealStatus.WON and deal.closed_at is not None
    services.deal_move(deal=deal, stage=factories.stage(pipeline, 1), actor=rep)
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN and deal.closed_at is None


def test_a_stage_of_another_pipeline_is_refused(make_user):
    rep = make_user("sales")
    deal = factories.deal(owner=rep)
    other = factories.pipeline()
    with pytest.raises(ValidationError) as exc:
        services.deal_move(deal=deal, stage=factories.stage(other, 1), actor=rep)
    assert "stage" in exc.value.message_dict


def test_a_currency_without_a_rate_is_refused(make_user):
    """A deal in a currency that has no rate to CNY yet cannot be saved."""
    rep = make_user("sales")
    no_rate = factories.currency("JPY", rate=None)
    with pytest.raises(ValidationError) as exc:
        factories.deal(owner=rep, currency=no_rate, amount="100")
    assert "JPY" in exc.value.message_dict["currency"][0]
    assert not Deal.objects.filter(currency=no_rate).exists()


def test_amounts_in_another_currency_are_kept_in_cny_for_reports(make_user):
    rep = make_user("sales")
    deal = factories.deal(owner=rep, currency=factories.currency("USD", Decimal("7.1")), amount="1000")
    assert deal.amount_cny == Decimal("7100.00")


def test_a_negative_amount_is_refused(make_user):
    with pytest.raises(ValidationError) as exc:
        factories.deal(owner=make_user("sales"), amount="-5")
    assert "amount" in exc.value.message_dict


def test_an_update_may_not_empty_a_field_the_current_stage_requires(make_user):
    rep = make_user("sales")
    pipeline = factories.pipeline()
    deal = factories.deal(owner=rep, pipeline=pipeline, amount="900")
    services.deal_move(deal=deal, stage=factories.stage(pipeline, 2), actor=rep)
    with pytest.raises(ValidationError) as exc:
        services.deal_update(deal=deal, actor=rep, amount="")
    assert "amount" in exc.value.message_dict
    deal.refresh_from_db()
    assert deal.amount == Decimal("900.00")


def test_an_update_records_the_changed_fields(make_user):
    rep = make_user("sales")
    deal = factories.deal(owner=rep, amount="100")
    services.deal_update(deal=deal, actor=rep, amount="250", expected_close=date(2027, 3, 1))
    event = events_of(deal, "updated")[0]
    assert event.changes["amount"] == ["100.00", "250.00"]
    assert event.changes["expected_close"] == ["2027-03-01"] or event.changes["expected_close"][1] == "2027-03-01"


def test_reordering_inside_a_column_places_the_deal_between_its_neighbours(make_user):
    rep = make_user("sales")
    pipeline = factories.pipeline()
    a, b, c = (factories.deal(owner=rep, pipeline=pipeline) for _ in range(3))
    # newest on top: c, b, a
    services.deal_move(deal=c, stage=c.stage, actor=rep, above=b, below=a)
    order = list(Deal.objects.filter(stage=a.stage).order_by("position").values_list("pk", flat=True))
    assert order == [b.pk, c.pk, a.pk]
    assert not events_of(c, "stage_changed")
    assert events_of(c, "reordered")


def test_positions_are_renumbered_when_neighbours_run_out_of_room(make_user):
    rep = make_user("sales")
    pipeline = factories.pipeline()
    a, b, c = (factories.deal(owner=rep, pipeline=pipeline) for _ in range(3))
    Deal.objects.filter(pk=a.pk).update(position=1.0)
    Deal.objects.filter(pk=b.pk).update(position=1.0 + 1e-9)
    a.refresh_from_db()
    b.refresh_from_db()
    services.deal_move(deal=c, stage=c.stage, actor=rep, above=a, below=b)
    order = list(Deal.objects.filter(stage=a.stage).order_by("position").values_list("pk", flat=True))
    assert order == [a.pk, c.pk, b.pk]


def test_a_lead_converts_into_a_contact_an_account_and_a_deal_in_one_go(make_user):
    rep = make_user("sales")
    factories.pipeline(default=True)
    lead = customer_factories.lead(owner=rep, source=Lead.Source.REFERRAL)
    contact, account, deal = services.lead_convert_with_deal(
        lead=lead, actor=rep, deal_name="年度订阅 Annual plan", amount="88000"
    )
    assert deal.account == account and list(deal.contacts.all()) == [contact]
    assert deal.lead == lead and deal.source == Lead.Source.REFERRAL
    assert deal.amount == Decimal("88000.00") and deal.owner == rep


def test_a_failed_deal_leaves_the_lead_unconverted(make_user):
    rep = make_user("sales")
    factories.pipeline(default=True)
    lead = customer_factories.lead(owner=rep)
    with pytest.raises(ValidationError) as exc:
        services.lead_convert_with_deal(lead=lead, actor=rep, deal_name="x", amount="-1")
    assert "deal_amount" in exc.value.message_dict
    lead.refresh_from_db()
    assert lead.status != Lead.Status.CONVERTED


def test_a_task_on_a_deal_is_kept_on_its_account_and_counts_as_activity(make_user):
    rep = make_user("sales")
    account = customer_factories.account(owner=rep)
    deal = factories.deal(owner=rep, account=account)
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=timezone.now() - timedelta(days=30))
    deal.refresh_from_db()
    task = services.deal_task_add(deal=deal, actor=rep, subject="发报价", due_at=timezone.now() + timedelta(days=1))
    assert task.account == account
    assert DealTask.objects.get(interaction=task).deal == deal
    deal.refresh_from_db()
    assert deal.last_activity_at > timezone.now() - timedelta(minutes=1)


def test_round_robin_deals_new_deals_over_the_team_in_turn(make_user):
    team_members = [make_user("sales") for _ in range(3)]
    from tests.factories import TeamFactory

    team = TeamFactory()
    team.members.set(team_members)
    admin = make_user("administrator")
    services.assignment_rule_save(actor=admin, team=team, applies_to=AssignmentRule.AppliesTo.DEALS)
    owners = [factories.deal(actor=admin).owner for _ in range(4)]
    ordered = sorted(team_members, key=lambda u: u.pk)
    assert owners == [*ordered, ordered[0]]


def test_a_territory_rule_gives_deals_of_a_province_to_its_user(make_user):
    admin, shanghai_rep = make_user("administrator"), make_user("sales")
    services.assignment_rule_save(actor=admin, province="上海市", user=shanghai_rep)
    in_shanghai = customer_factories.account(owner=admin, province="上海市")
    elsewhere = customer_factories.account(owner=admin, province="广东省")
    assert factories.deal(actor=admin, account=in_shanghai).owner == shanghai_rep
    assert factories.deal(actor=admin, account=elsewhere).owner == admin


def test_a_stage_may_only_require_deal_fields(make_user):
    admin = make_user("administrator")
    pipeline = factories.pipeline()
    with pytest.raises(ValidationError) as exc:
        services.stage_save(actor=admin, pipeline=pipeline, name="X", required_fields=["password"])
    assert "required_fields" in exc.value.message_dict


def test_assigning_a_lead_by_the_rules_gives_it_the_rules_user_and_records_it(make_user):
    admin, rep = make_user("administrator"), make_user("sales")
    services.assignment_rule_save(actor=admin, user=rep, applies_to=AssignmentRule.AppliesTo.LEADS)
    lead = customer_factories.lead(owner=admin)
    services.lead_assign(lead=lead, actor=admin)
    lead.refresh_from_db()
    assert lead.owner == rep
    assert Event.objects.for_object(lead).filter(action="reassigned").exists()


def test_without_a_matching_rule_a_lead_is_not_reassigned(make_user):
    admin = make_user("administrator")
    lead = customer_factories.lead(owner=admin)
    with pytest.raises(ValidationError) as exc:
        services.lead_assign(lead=lead, actor=admin)
    assert "owner" in exc.value.message_dict


def test_a_rule_needs_either_a_user_or_a_team(make_user):
    admin = make_user("administrator")
    with pytest.raises(ValidationError) as exc:
        services.assignment_rule_save(actor=admin, province="上海市")
    assert {"team", "user"} <= set(exc.value.message_dict)
