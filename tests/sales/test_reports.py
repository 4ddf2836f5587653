"""Funnel, forecast and won/lost figures: the arithmetic, and only deals in the viewer's scope."""

from datetime import date
from decimal import Decimal

import pytest

from guanxi.sales import selectors, services

from ..factories import TeamFactory
from . import factories

pytestmark = pytest.mark.django_db


def _move(deal, pipeline, index, actor, **extra):
    return services.deal_move(deal=deal, stage=factories.stage(pipeline, index), actor=actor, **extra)


def test_the_funnel_counts_how_far_deals_got_and_the_conversion_between_stages(make_user):
    """Given 4 deals: one still in the first stage, one in the second, one won and one lost from the second,
    the open stages were reached by 4, 3, 1, 1 and conversion is reached / reached at the previous stage."""
    rep = make_user("sales")
    pipeline = factories.pipeline()
    reason = factories.lost_reason()
    factories.deal(owner=rep, pipeline=pipeline, amount="100")  # stays in the first stage
    at_second = factories.deal(owner=rep, pipeline=pipeline, amount="200")
    won = factories.deal(owner=rep, pipeline=pipeline, amount="400")
    lost = factories.deal(owner=rep, pipeline=pipeline, amount="800")
    _move(at_second, pipeline, 1, rep)
    _move(won, pipeline, 1, rep)
    _move(won, pipeline, 4, rep)
    _move(lost, pipeline, 1, rep)
    _move(lost, pipeline, 5, rep, lost_reason=reason)
    steps = {s.stage.position: s for s in selectors.funnel(user=rep, pipeline=pipeline)}
    assert [steps[i].count for i in range(6)] == [1, 1, 0, 0, 1, 1]
    assert steps[0].amount == Decimal("100.00") and steps[4].amount == Decimal("400.00")
    # reached: everyone got to stage 0; at_second, won and lost got to stage 1; only won got further
    assert [steps[i].reached for i in range(5)] == [4, 3, 1, 1, 1]
    assert steps[0].conversion is None
    assert steps[1].conversion == 75.0
    assert steps[2].conversion == pytest.approx(33.3)
    assert steps[4].conversion == 100.0
    lost.refresh_from_db()
    assert lost.lost_at_stage == factories.stage(pipeline, 1)


def test_the_forecast_weights_amounts_by_stage_probability_per_month_and_owner(make_user):
    rep, other = make_user("sales"), make_user("sales")
    pipeline = factories.pipeline()
    march, april = date(2031, 3, 10), date(2031, 4, 2)
    a = factories.deal(owner=rep, pipeline=pipeline, amount="1000", expected_close=march)
    _move(a, pipeline, 2, rep)  # 50 %
    factories.deal(owner=rep, pipeline=pipeline, amount="2000", expected_close=march)  # 10 %
    factories.deal(owner=other, pipeline=pipeline, amount="3000", expected_close=april)  # 10 %
    admin = make_user("administrator")
    rows = selectors.forecast(user=admin, pipeline=pipeline, start=date(2031, 3, 1), months=2)
    table = {(r.month, r.owner_id): r for r in rows}
    assert table[(date(2031, 3, 1), rep.pk)].amount == Decimal("3000.00")
    assert table[(date(2031, 3, 1), rep.pk)].weighted == Decimal("700.00")
    assert table[(date(2031, 4, 1), other.pk)].weighted == Decimal("300.00")
    assert table[(date(2031, 3, 1), rep.pk)].deals == 2


def test_reports_count_only_deals_in_the_viewers_scope(make_user):
    east, west = TeamFactory(), TeamFactory()
    rep = make_user("sales", teams=[east])
    outsider = make_user("sales", teams=[west])
    pipeline = factories.pipeline()
    factories.deal(owner=rep, pipeline=pipeline, amount="100", expected_close=date(2031, 3, 1))
    factories.deal(owner=outsider, pipeline=pipeline, amount="999", expected_close=date(2031, 3, 1))
    steps = selectors.funnel(user=rep, pipeline=pipeline)
    assert steps[0].count == 1 and steps[0].amount == Decimal("100.00")
    rows = selectors.forecast(user=rep, pipeline=pipeline, start=date(2031, 3, 1), months=1)
    assert [r.owner_id for r in rows] == [rep.pk]
    assert [f.key for f in selectors.figures_by(user=rep, by="owner", pipeline=pipeline)] == [rep.pk]


def test_won_lost_analysis_by_reason_owner_and_team(make_user):
    team = TeamFactory()
    rep = make_user("sales", teams=[team])
    pipeline = factories.pipeline()
    price, rival = factories.lost_reason("Price"), factories.lost_reason("Rival")
    for amount, reason in (("100", price), ("200", price), ("300", rival)):
        _move(factories.deal(owner=rep, pipeline=pipeline, amount=amount), pipeline, 5, rep, lost_reason=reason)
    _move(factories.deal(owner=rep, pipeline=pipeline, amount="1000"), pipeline, 4, rep)
    factories.deal(owner=rep, pipeline=pipeline, amount="50")
    lost = selectors.lost_by_reason(user=rep, pipeline=pipeline)
    assert [(r["reason"], r["deals"], r["amount"]) for r in lost] == [
        ("Price", 2, Decimal("300.00")),
        ("Rival", 1, Decimal("300.00")),
    ]
    (mine,) = selectors.figures_by(user=rep, by="owner", pipeline=pipeline)
    assert (mine.won, mine.lost, mine.open) == (1, 3, 1)
    assert mine.won_amount == Decimal("1000.00") and mine.win_rate == 25.0
    assert mine.weighted == Decimal("5.00")
    (per_team,) = selectors.figures_by(user=rep, by="team", pipeline=pipeline)
    assert per_team.key == team.pk and per_team.label == team.name and per_team.won == 1
    # a period with no closings: no won or lost, but the open pipeline still counts
    later = selectors.won_lost(user=rep, pipeline=pipeline, since=date(2099, 1, 1))
    assert later.lost_by_reason == []
    (mine_later,) = later.by_owner
    assert (mine_later.won, mine_later.lost, mine_later.open) == (0, 0, 1)
