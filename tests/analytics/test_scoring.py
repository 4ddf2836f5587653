"""The scoring run: RFM segments, CLV, churn model with its held-out metrics, recommendations, scoping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from guanxi.analytics import rfm, selectors, services
from guanxi.analytics.models import CustomerScore, ModelRun, Segment
from guanxi.core.models import Event
from guanxi.customers.models import Interaction
from guanxi.sales.models import Order

from ..customers import factories as customer_factories
from ..factories import TeamFactory, UserFactory
from . import factories

pytestmark = pytest.mark.django_db


def test_quintile_scores_keep_ties_together_and_reward_recent_customers() -> None:
    """Equal values share a score; fewer days since the last order means a higher R."""
    assert rfm.quintile_scores([1, 1, 1, 1, 10]).tolist() == [3, 3, 3, 3, 5]
    assert rfm.quintile_scores([5, 50, 500, 5000, 50000], higher_is_better=False).tolist() == [5, 4, 3, 2, 1]


@pytest.mark.parametrize(
    ("r", "f", "segment"),
    [
        (5, 5, Segment.CHAMPIONS),
        (3, 4, Segment.LOYAL),
        (4, 2, Segment.POTENTIAL),
        (5, 1, Segment.NEW),
        (2, 5, Segment.CANT_LOSE),
        (2, 3, Segment.AT_RISK),
        (2, 2, Segment.HIBERNATING),
        (1, 1, Segment.LOST),
    ],
)
def test_segment_grid(r: int, f: int, segment: Segment) -> None:
    """The named segments follow the usual R × F/M grid."""
    assert rfm.segment_of(r, f) == segment


@pytest.fixture
def shop() -> dict:
    manager = UserFactory(roles=["manager"], teams=[TeamFactory()])
    data = factories.history(customers=70, seed=7, owner=manager, team=manager.teams.first())
    return {"manager": manager, **data}


def test_scoring_run_scores_every_buyer_and_records_the_run(shop: dict) -> None:
    """Every customer with an order gets R/F/M, a segment, a CLV and churn risk; the run keeps its metrics."""
    asof = timezone.localdate() - timedelta(days=1)
    run = services.scores_refresh(asof=asof, actor=shop["manager"])
    buyers = Order.objects.values("contact_id").distinct().count()
    assert run.customers == buyers == CustomerScore.objects.filter(period=asof).count()
    assert Event.objects.filter(action="created", object_id=run.pk, content_type__model="modelrun").exists()
    score = CustomerScore.objects.filter(period=asof).order_by("-orders").first()
    assert score is not None and 1 <= score.r_score <= 5 and score.segment in Segment.values
    assert score.clv is not None and score.clv > 0
    assert 0 <= (score.churn_risk or 0) <= 1
    params = ModelRun.objects.get(pk=run.pk).params
    assert params["bgnbd"]["r"] > 0 and params["gamma_gamma"]["p"] > 0
    churn = run.metrics["churn"]
    assert 0.5 < churn["auc"] <= 1 and "auc_recency_baseline" in churn and len(churn["calibration"]) == 5
    rec = run.metrics["recommendations"]
    assert rec["customers"] > 0 and 0 <= rec["hit_rate"] <= 1


def test_churn_reasons_name_the_features_that_raise_the_risk(shop: dict) -> None:
    """A high-risk customer's reasons are the features whose coefficient × value push the risk up."""
    asof = timezone.localdate() - timedelta(days=1)
    services.scores_refresh(asof=asof, actor=shop["manager"])
    risky = CustomerScore.objects.filter(period=asof, churn_risk__gte=0.5).exclude(churn_factors=[]).first()
    assert risky is not None
    reasons = selectors.churn_reasons(risky)
    assert all(r["weight"] > 0 and r["label"] for r in reasons)
    assert [r["weight"] for r in reasons] == sorted((r["weight"] for r in reasons), reverse=True)


def test_recommendations_are_from_the_customers_product_family_and_new_to_them(shop: dict) -> None:
    """Co-purchase suggests what similar buyers bought, never what the customer already has."""
    asof = timezone.localdate() - timedelta(days=1)
    services.scores_refresh(asof=asof, actor=shop["manager"])
    family_of = {p.pk: i for i, fam in enumerate(shop["families"]) for p in fam}
    checked = 0
    for score in CustomerScore.objects.filter(period=asof).exclude(recommended=[]):
        owned = set(Order.objects.filter(contact_id=score.contact_id).values_list("lines__product_id", flat=True))
        assert not owned & set(score.recommended)
        assert {family_of[p] for p in score.recommended} <= {family_of[p] for p in owned}
        checked += 1
    assert checked > 0


def test_rescoring_a_period_replaces_it_and_segment_moves_are_counted(shop: dict) -> None:
    """Two periods give a migration table; re-running a period does not double its rows."""
    today = timezone.localdate()
    earlier, later = today - timedelta(days=91), today - timedelta(days=1)
    services.scores_refresh(asof=earlier, actor=shop["manager"])
    services.scores_refresh(asof=later, actor=shop["manager"])
    services.scores_refresh(asof=later, actor=shop["manager"])
    assert CustomerScore.objects.filter(period=later).count() == Order.objects.values("contact_id").distinct().count()
    moves = selectors.segment_migration(shop["manager"], later, earlier)
    assert (
        sum(n for targets in moves.values() for n in targets.values())
        == CustomerScore.objects.filter(period=later).count()
    )


def test_scores_are_scoped_to_the_customers_a_user_may_see(shop: dict) -> None:
    """A rep of another team sees no scores of this team's customers, in lists and profiles alike."""
    asof = timezone.localdate() - timedelta(days=1)
    services.scores_refresh(asof=asof, actor=shop["manager"])
    outsider = UserFactory(roles=["sales"], teams=[TeamFactory()])
    assert selectors.scores_visible_to(outsider).count() == 0
    contact = shop["customers"][0]
    assert selectors.score_for(user=outsider, kind="contact", pk=contact.pk) is None
    assert selectors.scores_visible_to(shop["manager"]).filter(period=asof).count() > 0


def test_the_at_risk_list_is_most_valuable_first_and_its_total_stops_at_the_cap(shop, bearer, monkeypatch) -> None:
    """The API's at-risk list puts the biggest spenders first; past the cap it answers the cap with
    `count_capped: true`, as the ticket queue does, instead of counting every at-risk customer."""
    from guanxi.core import selectors as core_selectors

    asof = timezone.localdate() - timedelta(days=1)
    services.scores_refresh(asof=asof, actor=shop["manager"])
    risky = CustomerScore.objects.filter(period=asof, churn_risk__gte=0.5)
    assert risky.count() > 3
    page = bearer(shop["manager"]).get("/api/v1/analytics/scores?list=risk&page_size=50").json()
    assert (page["count"], page["count_capped"]) == (risky.count(), False)
    revenues = [float(row["revenue"]) for row in page["items"]]
    assert revenues == sorted(revenues, reverse=True)
    monkeypatch.setattr(core_selectors, "COUNT_CAP", 3)
    capped = bearer(shop["manager"]).get("/api/v1/analytics/scores?list=risk&page_size=2").json()
    assert (capped["count"], capped["count_capped"], capped["pages"], len(capped["items"])) == (3, True, 2, 2)


def test_interactions_feed_the_churn_features() -> None:
    """Calls with a customer in the last 90 days are counted into the churn model's features."""
    user = UserFactory(roles=["sales"])
    contact = customer_factories.contact(owner=user)
    customer_factories.interaction(about=contact, actor=user, occurred_at=timezone.now() - timedelta(days=3))
    keys, days = services.interactions_until(timezone.now() + timedelta(days=1))
    from guanxi.analytics.orderdata import customer_key

    counts = services._interactions_recent(
        np.array([customer_key(None, contact.pk)]), timezone.now().timestamp() / 86400, {"interactions": (keys, days)}
    )
    assert counts.tolist() == [1.0]
    assert Interaction.objects.count() == 1


def test_nothing_to_score_gives_an_empty_run() -> None:
    """Without orders the run records zero customers instead of failing."""
    run = services.scores_refresh(asof=timezone.localdate(), actor=None)
    assert run.customers == 0 and CustomerScore.objects.count() == 0


def _generated_orders(customers: int, seed: int = 1, days: int = 720) -> tuple[Any, float]:
    """Order columns as the benchmark generates them: a BG/NBD-like buying rate and lifetime per customer."""
    from guanxi.analytics.orderdata import OrderColumns

    rng = np.random.default_rng(seed)
    keys: list[int] = []
    when: list[float] = []
    values: list[float] = []
    for c in range(customers):
        rate, life = rng.gamma(0.8, 1 / 45), rng.exponential(360)
        t = float(rng.integers(0, days - 30))
        end, spend = min(days, t + life), float(rng.gamma(4, 60))
        while t < end:
            keys.append(2 * c + 1)
            when.append(t)
            values.append(spend * rng.uniform(0.7, 1.3))
            t += max(1.0, float(rng.exponential(1 / max(rate, 1e-3))))
    order = np.argsort(when, kind="stable")
    cols = OrderColumns(
        order_id=np.arange(len(when), dtype=np.int64),
        key=np.array(keys, dtype=np.int64)[order],
        day=np.array(when)[order],
        value=np.array(values)[order],
    )
    return cols, float(days)


def test_churn_model_beats_the_recency_baseline_and_is_calibrated() -> None:
    """On generated histories the model ranks the held-out period's lapsers better than recency alone (AUC),
    and its probabilities match the observed churn within 5 points in every fifth of the predictions."""
    from guanxi.analytics.churn import churn_fit_and_score

    cols, now = _generated_orders(5000)
    result = churn_fit_and_score(cols, now)
    assert result is not None
    m = result.metrics
    assert m["auc"] > m["auc_recency_baseline"] + 0.005, m
    assert all(abs(b["predicted"] - b["observed"]) < 0.05 for b in m["calibration"]), m["calibration"]
    assert m["brier"] < 0.15
