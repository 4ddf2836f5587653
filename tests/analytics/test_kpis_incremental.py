"""New orders update revenue, orders, AOV, repurchase, retention and CAC by the difference they make to their
customers' shares, without recounting the month: the stored values stay equal to a recount."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from guanxi.analytics import kpis
from guanxi.analytics.models import KpiValue
from guanxi.core.events import events_dispatch_batch
from guanxi.core.models import Event

from ..customers import factories as customer_factories
from ..factories import TeamFactory, UserFactory
from . import factories

pytestmark = pytest.mark.django_db

PER_CUSTOMER = ["revenue", "orders", "aov", "repurchase_rate", "retention_rate", "cac"]


def _months(back: int, ahead: int) -> list[date]:
    first = timezone.localdate().replace(day=1)
    out = [first]
    for _i in range(back):
        out.insert(0, kpis.month_start(out[0] - timedelta(days=1)))
    for _i in range(ahead):
        out.append(kpis.next_month(out[-1]))
    return out


def _at(month: date, rng: random.Random) -> datetime:
    day = min(month + timedelta(days=rng.randrange(27)), timezone.localdate())
    return timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=rng.randrange(1, 10))


def _recounted(code: str, month: date) -> dict[str, tuple[float, float]]:
    start, end = kpis.month_bounds(month)
    out: dict[str, tuple[float, float]] = {}
    for dim, n, d in kpis.kpis()[code].formula(start, end):
        n0, d0 = out.get(dim, (0.0, 0.0))
        out[dim] = (n0 + n, d0 + d)
    return {dim: v for dim, v in out.items() if v != (0.0, 0.0)}


def _stored(code: str, month: date) -> dict[str, tuple[float, float]]:
    rows = KpiValue.objects.filter(kpi=code, period=month).values_list("dimension", "numerator", "denominator")
    return {dim: (n, d) for dim, n, d in rows if (n, d) != (0.0, 0.0)}


def test_new_orders_add_their_difference_and_the_values_equal_a_recount() -> None:
    """Months counted by the nightly rebuild, then six rounds of random new orders — new and returning
    customers, companies and people, other teams and owners than the customer's, cancelled ones, orders
    back-dated before a customer's later purchases — dispatched in batches of random sizes, so one customer's
    orders often arrive in several batches. No month is recounted (the stamps stay those of the rebuild), and
    every value of every month and dimension equals a recount from the records."""
    rng = random.Random(7)
    teams = [TeamFactory(name="North"), TeamFactory(name="South")]
    reps = [UserFactory(roles=["sales"], teams=[teams[i % 2]]) for i in range(3)]
    months = _months(3, 1)
    customers: list = []
    for i in range(10):
        rep = reps[i % 3]
        make = customer_factories.account if i % 4 == 0 else customer_factories.contact
        customers.append(make(owner=rep, team=rep.teams.first()))
    for customer in customers[:8]:
        for month in rng.sample(months[:-1], 2):
            factories.order(customer=customer, at=_at(month, rng), total=rng.randrange(50, 500))
    events_dispatch_batch()
    kpis.kpis_refresh(months=months, codes=PER_CUSTOMER)
    companies = KpiValue.objects.filter(kpi__in=PER_CUSTOMER, dimension="")
    stamps = {(kpi, period): n for kpi, period, n in companies.values_list("kpi", "period", "as_of_event")}
    for _round in range(6):
        for _i in range(rng.randrange(3, 9)):
            if rng.random() < 0.2:
                rep = rng.choice(reps)
                customers.append(customer_factories.contact(owner=rep, team=rep.teams.first()))
            rep = rng.choice(reps)
            factories.order(
                customer=rng.choice(customers),
                at=_at(rng.choice(months[:-1]), rng),
                total=rng.randrange(10, 900),
                status=rng.choice(["completed", "completed", "paid", "cancelled"]),
                owner=rep,
                team=rep.teams.first(),
            )
        while events_dispatch_batch(batch_size=rng.randrange(1, 5)):
            pass
    assert not Event.objects.undispatched().exists()
    for code in PER_CUSTOMER:
        for month in months:
            stored, recounted = _stored(code, month), _recounted(code, month)
            assert stored.keys() == recounted.keys(), (code, month)
            for dim, (n, d) in recounted.items():
                assert stored[dim] == (pytest.approx(n), pytest.approx(d)), (code, month, dim)
    after = {(kpi, period): n for kpi, period, n in companies.values_list("kpi", "period", "as_of_event")}
    assert after == stamps


def test_a_new_order_in_a_month_never_counted_counts_that_month_whole() -> None:
    """With no stored value for the month yet, a new order's batch counts the month from the records, so the
    month's earlier orders are in it, not only the new one's difference."""
    rep = UserFactory(roles=["sales"])
    buyer = customer_factories.contact(owner=rep)
    this = timezone.localdate().replace(day=1)
    noon = timezone.make_aware(datetime.combine(this, datetime.min.time())) + timedelta(hours=12)
    factories.order(customer=buyer, at=noon, total=100)
    Event.objects.undispatched().update(dispatched_at=timezone.now())  # settled before analytics counted it
    factories.order(customer=buyer, at=noon + timedelta(hours=1), total=30)
    events_dispatch_batch()
    row = KpiValue.objects.get(kpi="revenue", period=this, dimension="")
    assert (row.numerator, row.denominator) == (130, 2) and row.as_of_event > 0
