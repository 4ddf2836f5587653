"""Analytics: CLV fit on a million customers against `lifetimes`, churn AUC and recommendation hit rate
against their baselines, and dashboard API latency on a shop's order history."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import numpy as np

from benchmarks.harness import Bench, gunicorn_config
from benchmarks.scenarios import scenario

CLV_CUSTOMERS = 1_000_000
TRUTH = (0.243, 4.414, 0.793, 2.426)  # CDNOW's BG/NBD parameters, per week
WEEKS = 78


def _sig3(value: float) -> str:
    return f"{value:.3g}"


def clv_side_by_side(bench: Bench, n: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Fit BG/NBD on `n` simulated customers with ours and with lifetimes' BetaGeoFitter; same arrays."""
    from guanxi.analytics import clv

    x, tx, t = clv.bgnbd_simulate(clv.BetaGeoParams(*TRUTH), n, T=WEEKS, seed=1)
    # purchases are recorded by day, as orders are: recency in whole days, expressed in weeks
    tx = np.floor(tx * 7) / 7
    x = np.where(tx <= 0, 0, x)
    tx = np.where(x == 0, 0, tx)
    began = time.perf_counter()
    ours = clv.bgnbd_fit(x, tx, t)
    ours_s = time.perf_counter() - began
    bench.say(f"ours: {ours} in {ours_s:.1f} s")
    rows = [
        {
            "label": f"BG/NBD fit, {n:,} customers — guanxi (NumPy/SciPy)",
            "matching_rows": n,
            "requests": 1,
            "p50_ms": round(ours_s * 1000),
            "p95_ms": round(ours_s * 1000),
            "max_ms": round(ours_s * 1000),
        }
    ]
    notes = [
        f"guanxi parameters r, α, a, b = {', '.join(_sig3(v) for v in ours.__dict__.values())} "
        f"(simulated from {', '.join(str(v) for v in TRUTH)})"
    ]
    try:
        from lifetimes import BetaGeoFitter
    except ImportError:
        notes.append("lifetimes is not installed in this environment: no side-by-side figure")
        return rows, notes
    began = time.perf_counter()
    theirs = BetaGeoFitter().fit(x, tx, t)
    theirs_s = time.perf_counter() - began
    p = theirs.params_
    bench.say(f"lifetimes: {p.to_dict()} in {theirs_s:.1f} s")
    rows.append(
        {
            "label": f"BG/NBD fit, {n:,} customers — lifetimes 0.11.3 BetaGeoFitter",
            "matching_rows": n,
            "requests": 1,
            "p50_ms": round(theirs_s * 1000),
            "p95_ms": round(theirs_s * 1000),
            "max_ms": round(theirs_s * 1000),
        }
    )
    same = all(_sig3(a) == _sig3(b) for a, b in zip(ours.__dict__.values(), p[["r", "alpha", "a", "b"]], strict=True))
    notes.append(
        f"lifetimes parameters r, α, a, b = {', '.join(_sig3(float(p[k])) for k in ('r', 'alpha', 'a', 'b'))}"
        f"; equal to 3 significant digits: {'yes' if same else 'no'}; time ratio lifetimes ÷ guanxi = "
        f"{theirs_s / ours_s:.1f}×"
    )
    return rows, notes


def load_orders(bench: Bench) -> dict[str, Any]:
    """`size` demo contacts; each buys from one of eight product families along a BG/NBD-like path."""
    from django.core.management import call_command

    from guanxi.customers.models import Contact
    from guanxi.sales.models import Currency, Order, OrderLine, Product

    call_command("demo", users=60, teams=6, customers=bench.size, seed=1, stdout=StringIO())
    cny = Currency.objects.get(code="CNY")
    products = Product.objects.bulk_create(
        [
            Product(sku=f"B-{f}-{i}", name=f"品类{f} 商品{i}", price=Decimal("100"), currency=cny)
            for f in range(8)
            for i in range(12)
        ]
    )
    families = [products[f * 12 : (f + 1) * 12] for f in range(8)]
    rng = np.random.default_rng(1)
    from django.utils import timezone

    now = timezone.now() - timedelta(days=1)
    days = 720
    orders: list[Order] = []
    picks: list[list[Product]] = []
    contacts = list(Contact.objects.values_list("id", "owner_id", "team_id"))
    for contact_id, owner_id, team_id in contacts:
        family = families[int(rng.integers(8))]
        rate, life = rng.gamma(0.8, 1 / 45), rng.exponential(360)
        t = float(rng.integers(0, days - 30))
        end, spend = min(days, t + life), float(rng.gamma(4, 60))
        while t < end:
            value = Decimal(str(round(spend * rng.uniform(0.7, 1.3), 2)))
            orders.append(
                Order(
                    number=f"B{len(orders):09d}",
                    contact_id=contact_id,
                    owner_id=owner_id,
                    team_id=team_id,
                    currency=cny,
                    status=Order.Status.COMPLETED,
                    ordered_at=now - timedelta(days=days - t),
                    net_total=value,
                    gross_total=value,
                )
            )
            # mostly the family's popular items, sometimes a neighbouring family's
            fam = family if rng.random() < 0.85 else families[int(rng.integers(8))]
            weights = np.arange(12, 0, -1, dtype=float)
            chosen = rng.choice(12, size=int(rng.integers(1, 3)), replace=False, p=weights / weights.sum())
            picks.append([fam[int(i)] for i in chosen])
            t += max(1.0, float(rng.exponential(1 / max(rate, 1e-3))))
    Order.objects.bulk_create(orders, batch_size=5000)
    saved = list(Order.objects.order_by("id").values_list("id", flat=True))
    lines = [
        OrderLine(
            order_id=oid, product=p, unit_price=Decimal("100"), net_amount=Decimal("100"), gross_amount=Decimal("100")
        )
        for oid, ps in zip(saved, picks, strict=True)
        for p in ps
    ]
    OrderLine.objects.bulk_create(lines, batch_size=5000)
    return {"contacts": len(contacts), "orders": len(orders), "lines": len(lines)}


def _once(label: str, rows: int, ms: int) -> dict[str, Any]:
    return {"label": label, "matching_rows": rows, "requests": 1, "p50_ms": ms, "p95_ms": ms, "max_ms": ms}


def _new_orders(count: int) -> int:
    """`count` new orders on existing customers, each with its `created` event, as the order service writes them."""
    from django.db import transaction
    from django.utils import timezone

    from guanxi.core.events import record_event
    from guanxi.sales.models import Currency, Order

    cny = Currency.objects.get(code="CNY")
    customers = list(Order.objects.values_list("contact_id", "owner_id", "team_id").distinct()[:count])
    now = timezone.now()
    with transaction.atomic():
        for i in range(count):
            contact_id, owner_id, team_id = customers[i % len(customers)]
            order = Order.objects.create(
                number=f"N{i:09d}",
                contact_id=contact_id,
                owner_id=owner_id,
                team_id=team_id,
                currency=cny,
                status=Order.Status.COMPLETED,
                ordered_at=now - timedelta(minutes=i),
                net_total=Decimal("150"),
                gross_total=Decimal("150"),
            )
            record_event(obj=order, action="created", actor=None, changes={"ordered_at": [None, order.ordered_at]})
    return count


@scenario(
    name="analytics",
    title="Analytics: CLV fit vs lifetimes, churn and recommendations vs baselines, dashboard API",
    default_size=20_000,
    order=60,
)
def analytics(bench: Bench) -> dict[str, Any]:
    """(1) BG/NBD fitted on 1,000,000 customers simulated from CDNOW's parameters (78 weeks, recency in
    whole days), by guanxi's NumPy/SciPy maximum likelihood and by lifetimes 0.11.3's BetaGeoFitter on the
    same arrays, in-process: wall time of each fit and the parameters to 3 significant digits. (2) On
    `size` demo contacts with generated order histories over two years (eight product families, 85% of
    baskets within the customer's family), the nightly scoring job's function `scores_refresh`: wall
    time, churn AUC on the held-out last 90 days vs a recency-only baseline, Brier score, and
    co-purchase hit rate@10 on each repeat customer's held-out last order vs most-popular. (3) The full
    KPI rebuild (every registered KPI × 13 months, the nightly job's function), then the incremental path:
    1,000 new orders with their events, drained by the event dispatcher. (4) The dashboard's API reads
    (KPI series, at-risk list, segments, the executive and service dashboards with every widget) on a
    real `guanxi web`, administrator token."""
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.utils import timezone

    from guanxi.analytics import kpis, services
    from guanxi.core.models import ADMINISTRATOR, User
    from guanxi.core.services import token_create

    rows, notes = clv_side_by_side(bench, CLV_CUSTOMERS)
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    migrated = time.perf_counter()
    sizes = load_orders(bench)
    loaded = time.perf_counter()
    bench.analyze()
    bench.say(f"loaded {sizes} in {loaded - migrated:.1f} s")
    began = time.perf_counter()
    run = services.scores_refresh(asof=timezone.localdate() - timedelta(days=1), actor=None)
    score_ms = round((time.perf_counter() - began) * 1000)
    rows.append(
        {
            "label": f"scoring job (RFM, CLV, churn, recommendations), {run.customers:,} customers",
            "matching_rows": run.customers,
            "requests": 1,
            "p50_ms": score_ms,
            "p95_ms": score_ms,
            "max_ms": score_ms,
        }
    )
    churn, rec = run.metrics.get("churn", {}), run.metrics.get("recommendations", {})
    notes.append(
        f"churn (held-out 90 days, {churn.get('test_customers')} customers, churn rate "
        f"{churn.get('test_churn_rate')}): AUC {churn.get('auc')} vs recency-only {churn.get('auc_recency_baseline')}"
        f", Brier {churn.get('brier')}"
    )
    notes.append(
        f"recommendations on {rec.get('customers')} held-out last orders: hit rate@10 co-purchase "
        f"{rec.get('hit_rate')} vs most-popular {rec.get('hit_rate_popular')}"
    )
    months = [kpis.month_start(timezone.localdate())]
    for _i in range(12):
        months.append(kpis.month_start(months[-1] - timedelta(days=1)))
    from guanxi.core.events import events_dispatch_batch
    from guanxi.core.models import Event

    # events of the load are not the incremental path's work: settle them unprocessed
    Event.objects.filter(dispatched_at__isnull=True).update(dispatched_at=timezone.now())
    began = time.perf_counter()
    written = kpis.kpis_refresh(months=months)
    refresh_ms = round((time.perf_counter() - began) * 1000)
    rows.append(
        _once(f"full KPI refresh, {len(kpis.kpis())} KPIs × 13 months ({written:,} values)", written, refresh_ms)
    )
    new_orders = _new_orders(1000)
    began = time.perf_counter()
    dispatched = 0
    while True:
        done = events_dispatch_batch(batch_size=1000)
        dispatched += done
        if not done:
            break
    incremental_ms = round((time.perf_counter() - began) * 1000)
    rows.append(
        _once(
            f"incremental KPI update after {new_orders:,} new orders ({dispatched:,} events)",
            dispatched,
            incremental_ms,
        )
    )
    notes.append(
        f"KPI refresh: full {refresh_ms / 1000:.1f} s (bar 60 s); incremental after {dispatched} events "
        f"{incremental_ms / 1000:.2f} s (bar 1 s)"
    )
    admin = User.objects.filter(groups=Group.objects.get(name=ADMINISTRATOR)).order_by("id").first()
    _token, token = token_create(user=admin, name="bench")
    requests = [
        ("KPI revenue, 12 months", "/api/v1/analytics/kpis/revenue"),
        ("KPI repurchase rate, 12 months", "/api/v1/analytics/kpis/repurchase_rate"),
        ("at-risk customers, first page", "/api/v1/analytics/scores?list=risk&page=1"),
        ("RFM segments", "/api/v1/analytics/segments"),
        ("executive dashboard, every widget", "/api/v1/analytics/dashboards/executive"),
        ("service dashboard, every widget", "/api/v1/analytics/dashboards/service"),
    ]
    with bench.serve(ready_path="/api/v1/analytics/kpis", token=token) as server:
        rows += [bench.measure(server, label=label, path=path, token=token) for label, path in requests]
    return {
        "sizes": {"clv_customers": CLV_CUSTOMERS, **sizes},
        "setup": {"migrate_s": round(migrated - started, 1), "load_s": round(loaded - migrated, 1)},
        "server": gunicorn_config(),
        "rows": rows,
        "notes": notes,
        "metrics": run.metrics,
    }
