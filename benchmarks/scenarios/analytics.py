"""Analytics: CLV fit on a million customers against `lifetimes`, churn AUC and recommendation hit rate
against their baselines, and dashboard API latency on a shop's order history."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from benchmarks.harness import Bench, gunicorn_config
from benchmarks.scenarios import scenario
from benchmarks.scenarios.sales import _page, _row, _session

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


TICKETS_PER_CUSTOMER = 1  # the 1M tickets and 1M survey answers for 1M customers
ANSWERS_PER_CUSTOMER = 1
DAYS = 720  # two years of history


def _people() -> dict[str, Any]:
    """Six sales teams of eight reps, a service team of twelve agents over three queues, a marketing team, and
    one administrator: the users whose default dashboards are timed."""
    from django.contrib.auth.models import Group

    from guanxi.core.models import ADMINISTRATOR, Team, User
    from guanxi.service.models import Queue

    def user(email: str, role: str, team: Any = None) -> Any:
        person = User.objects.create_user(email, None, full_name=email.split("@")[0], is_staff=True)  # no hashing
        person.groups.add(Group.objects.get(name=role))
        if team is not None:
            team.members.add(person)
        return person

    admin = user("bench-admin@example.com", ADMINISTRATOR)
    sales_teams = [Team.objects.create(name=f"销售{i} Sales {i}") for i in range(6)]
    reps = [user(f"rep{t}-{i}@example.com", "sales", team) for t, team in enumerate(sales_teams) for i in range(8)]
    desk = Team.objects.create(name="客服 Service")
    agents = [user(f"agent{i}@example.com", "service", desk) for i in range(12)]
    queues = [Queue.objects.create(name=f"队列 Queue {i}", team=desk) for i in range(3)]
    marketing = Team.objects.create(name="市场 Marketing")
    return {
        "admin": admin,
        "reps": reps,
        "agents": agents,
        "desk": desk,
        "queues": queues,
        "marketer": user("marketer@example.com", "marketing", marketing),
    }


def _copy(model: Any, rows: Any, now: Any) -> int:
    """COPY rows into a model's table (see sales_orders), nullable dates empty unless given: a contact is not
    archived, a ticket not closed, just because the column has a time type."""
    from django.db import models

    from benchmarks.scenarios.sales_orders import _copy as copy_rows

    empty = {
        f.column: None
        for f in model._meta.concrete_fields
        if isinstance(f, models.DateTimeField) and f.null and not f.primary_key
    }
    return copy_rows(model, rows, now, **empty)


def load_data(bench: Bench, people: dict[str, Any]) -> dict[str, Any]:
    """COPY `size` contacts, their orders along a BG/NBD-like path (one of eight product families each, 85% of
    baskets inside it), a ticket and a survey answer per contact on average, then the survey rollups."""
    from django.db import connection
    from django.utils import timezone

    from guanxi.customers.models import Contact
    from guanxi.feedback.models import Survey, SurveyAnswer
    from guanxi.feedback.services import score_rollup_rebuild
    from guanxi.sales.models import Currency, Order, OrderLine, Product
    from guanxi.service.models import Channel, Ticket

    if connection.vendor != "postgresql":
        raise RuntimeError("analytics generates its data with COPY: run it with --db postgresql")
    size, rng, now = bench.size, np.random.default_rng(1), timezone.now() - timedelta(days=1)
    reps = [(r.pk, r.teams.first().pk) for r in people["reps"]]
    rep_of = rng.integers(len(reps), size=size)
    _copy(
        Contact,
        (
            {
                "surname": "客",
                "given_name": f"户{i:07d}",
                "full_name": f"客户{i:07d}",
                "lifecycle_stage": "customer",
                "owner_id": reps[int(rep_of[i])][0],
                "team_id": reps[int(rep_of[i])][1],
            }
            for i in range(size)
        ),
        now,
    )
    first_contact = Contact.objects.order_by("id").values_list("id", flat=True).first()
    bench.say(f"{size:,} contacts copied")
    cny = Currency.objects.get(code="CNY")
    products = Product.objects.bulk_create(
        [
            Product(sku=f"B-{f}-{i}", name=f"品类{f} 商品{i}", price=Decimal("100"), currency=cny)
            for f in range(8)
            for i in range(12)
        ]
    )
    family_ids = np.array([p.pk for p in products], dtype=np.int64).reshape(8, 12)
    weights = np.arange(12, 0, -1, dtype=float)
    weights /= weights.sum()
    # per customer: product family, purchase rate (per day), lifetime, first day and spend level
    family = rng.integers(8, size=size)
    rate = np.maximum(rng.gamma(0.8, 1 / 45, size=size), 1e-3)
    life = rng.exponential(360, size=size)
    first = rng.integers(0, DAYS - 30, size=size).astype(float)
    spend = rng.gamma(4, 60, size=size)
    baskets: list[Any] = []

    def orders() -> Any:
        n = 0
        for c in range(size):
            t, end = first[c], min(DAYS, first[c] + life[c])
            owner, team = reps[int(rep_of[c])]
            while t < end:
                value = Decimal(str(round(spend[c] * rng.uniform(0.7, 1.3), 2)))
                fam = family[c] if rng.random() < 0.85 else int(rng.integers(8))
                chosen = rng.choice(12, size=int(rng.integers(1, 3)), replace=False, p=weights)
                baskets.append(family_ids[fam, chosen])
                yield {
                    "number": f"B{n:09d}",
                    "contact_id": first_contact + c,
                    "owner_id": owner,
                    "team_id": team,
                    "currency_id": cny.pk,
                    "rate_to_cny": Decimal(1),
                    "status": "completed",
                    "ordered_at": now - timedelta(days=DAYS - t),
                    "net_total": value,
                    "gross_total": value,
                    "external_id": None,
                }
                n += 1
                t += max(1.0, float(rng.exponential(1 / rate[c])))

    order_count = _copy(Order, orders(), now)
    first_order = Order.objects.order_by("id").values_list("id", flat=True).first()
    bench.say(f"{order_count:,} orders copied")
    hundred = Decimal("100")

    def lines() -> Any:
        for i, basket in enumerate(baskets):
            for product in basket:
                yield {
                    "order_id": first_order + i,
                    "product_id": int(product),
                    "unit_price": hundred,
                    "net_amount": hundred,
                    "gross_amount": hundred,
                }

    line_count = _copy(OrderLine, lines(), now)
    baskets.clear()
    bench.say(f"{line_count:,} order lines copied")
    ticket_count = _copy(Ticket, _tickets(rng, size * TICKETS_PER_CUSTOMER, first_contact, size, people, now), now)
    bench.say(f"{ticket_count:,} tickets copied")
    surveys = {kind: Survey.objects.create(name=kind, kind=kind, question="?") for kind in ("csat", "nps")}
    agents = [a.pk for a in people["agents"]]
    channels = [c.value for c in Channel]
    answers = size * ANSWERS_PER_CUSTOMER

    def survey_answers() -> Any:
        kinds = rng.random(answers) < 0.5
        days = rng.uniform(0, DAYS, size=answers)
        for i in range(answers):
            kind = "csat" if kinds[i] else "nps"
            yield {
                "survey_id": surveys[kind].pk,
                "kind": kind,
                "contact_id": first_contact + int(rng.integers(size)),
                "score": int(rng.integers(1, 6)) if kind == "csat" else int(rng.integers(0, 11)),
                "channel": channels[int(rng.integers(len(channels)))],
                "team_id": people["desk"].pk,
                "agent_id": agents[int(rng.integers(len(agents)))],
                "product_id": int(family_ids.flat[int(rng.integers(96))]),
                "created_at": now - timedelta(days=float(days[i])),
                "invitation_id": None,
            }

    answer_count = _copy(SurveyAnswer, survey_answers(), now)
    rollups = score_rollup_rebuild()
    bench.say(f"{answer_count:,} survey answers copied; {rollups:,} daily rollup rows")
    with connection.cursor() as cursor:
        for table in ("customers_contact", "sales_order", "sales_orderline", "service_ticket", "feedback_surveyanswer"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {
        "contacts": size,
        "orders": order_count,
        "lines": line_count,
        "tickets": ticket_count,
        "survey_answers": answer_count,
    }


def _tickets(rng: Any, count: int, first_contact: int, size: int, people: dict[str, Any], now: Any) -> Any:
    """Tickets over two years: 85% resolved (most at the first answer), one in ten a complaint."""
    from guanxi.service.models import Channel

    agents = [a.pk for a in people["agents"]]
    queues = [q.pk for q in people["queues"]]
    channels = [c.value for c in Channel]
    priorities = ["low", "normal", "normal", "high", "urgent"]
    opened_days = rng.uniform(0, DAYS, size=count)
    for i in range(count):
        opened = now - timedelta(days=float(opened_days[i]))
        answered = int(rng.integers(5, 600))
        resolved = rng.random() < 0.85 and opened_days[i] > 2
        took = answered + int(rng.integers(0, 4000))
        row = {
            "subject": f"工单 {i}",
            "contact_id": first_contact + int(rng.integers(size)),
            "channel": channels[int(rng.integers(len(channels)))],
            "category": "complaint" if rng.random() < 0.1 else "question",
            "priority": priorities[int(rng.integers(len(priorities)))],
            "status": "resolved" if resolved else "open",
            "queue_id": queues[int(rng.integers(len(queues)))],
            "team_id": people["desk"].pk,
            "owner_id": agents[int(rng.integers(len(agents)))],
            "opened_at": opened,
            "first_response_at": opened + timedelta(minutes=answered),
            "first_response_minutes": answered,
            "handle_seconds": int(rng.integers(60, 3600)),
            "sla_policy_id": None,
        }
        if resolved:
            row |= {
                "resolved_at": opened + timedelta(minutes=took),
                "resolution_minutes": took,
                "first_contact_resolution": bool(rng.random() < 0.7),
            }
        else:
            row |= {"resolved_at": None, "resolution_minutes": None, "first_contact_resolution": None}
        yield row


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


def _equal_to_recount(month: Any) -> bool:
    """Whether every stored value of the month's order KPIs equals its formula read again from the records."""
    import math

    from guanxi.analytics import kpis
    from guanxi.analytics.models import KpiValue

    start, end = kpis.month_bounds(month)
    for code, item in kpis.kpis().items():
        if "sales.order" not in item.sources:
            continue
        stored = {
            d: (n, den)
            for d, n, den in KpiValue.objects.filter(kpi=code, period=month).values_list(
                "dimension", "numerator", "denominator"
            )
        }
        for dim, n, den in item.formula(start, end):
            if not all(
                math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
                for a, b in zip((n, den), stored.get(dim, (0, 0)), strict=True)
            ):
                return False
    return True


@scenario(
    name="analytics",
    title="Analytics: CLV fit vs lifetimes, churn and recommendations vs baselines, KPI refresh, dashboards",
    default_size=20_000,
    order=60,
)
def analytics(bench: Bench) -> dict[str, Any]:
    """(1) BG/NBD fitted on 1,000,000 customers simulated from CDNOW's parameters (78 weeks, recency in
    whole days), by guanxi's NumPy/SciPy maximum likelihood and by lifetimes 0.11.3's BetaGeoFitter on the
    same arrays, in-process: wall time of each fit and the parameters to 3 significant digits. (2) On
    `size` contacts COPYed into PostgreSQL with two years of orders each along a BG/NBD-like path (eight
    product families, 85% of baskets within the customer's family; about 4.7 orders and 7 lines per
    contact), `size` tickets and `size` CSAT/NPS answers (with their daily rollups), the nightly scoring
    job's function `scores_refresh`: wall time, churn AUC on the held-out last 90 days vs a recency-only
    baseline, Brier score, and co-purchase hit rate@10 on each repeat customer's held-out last order vs
    most-popular. (3) The full KPI rebuild (every registered KPI × 13 months, the nightly job's function),
    then the incremental path: 1,000 new orders with their events, drained by the event dispatcher.
    (4) Each role's default dashboard page (executive as the administrator, sales and "my own" as a rep,
    service as an agent, the marketer's default) and the executive page filtered by one team, with a
    signed-in session on a real `guanxi web`; then the analytics API reads with an administrator token."""
    from django.core.management import call_command
    from django.utils import timezone

    from guanxi.analytics import kpis, services
    from guanxi.core.services import token_create

    rows, notes = clv_side_by_side(bench, CLV_CUSTOMERS)
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    migrated = time.perf_counter()
    people = _people()
    sizes = load_data(bench, people)
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
        f"{incremental_ms / 1000:.2f} s (bar 1 s); values after it equal a recount from the records: "
        f"{'yes' if _equal_to_recount(months[0]) else 'NO'}"
    )
    admin = people["admin"]
    _token, token = token_create(user=admin, name="bench")
    requests = [
        ("KPI revenue, 12 months", "/api/v1/analytics/kpis/revenue"),
        ("KPI repurchase rate, 12 months", "/api/v1/analytics/kpis/repurchase_rate"),
        ("at-risk customers, first page", "/api/v1/analytics/scores?list=risk&page=1"),
        ("RFM segments", "/api/v1/analytics/segments"),
        ("executive dashboard, every widget", "/api/v1/analytics/dashboards/executive"),
        ("service dashboard, every widget", "/api/v1/analytics/dashboards/service"),
    ]
    rep = people["reps"][0]
    pages = [
        ("executive (administrator)", admin, "/analytics/?role=executive"),
        ("sales (rep's team)", rep, "/analytics/?role=sales"),
        ("service (agent)", people["agents"][0], "/analytics/?role=service"),
        ("marketing (marketer's default)", people["marketer"], "/analytics/"),
        ("my own (rep)", rep, "/analytics/?role=mine"),
        (
            "executive filtered by a team",
            admin,
            f"/analytics/?role=executive&dimension=team&value={rep.teams.first().pk}",
        ),
    ]
    sessions = {user.pk: _session(user) for _label, user, _path in pages}
    with bench.serve(ready_path="/api/v1/analytics/kpis", token=token) as server:
        for label, user, path in pages:
            cookies, csrf = sessions[user.pk]
            timings = []
            for attempt in range(3 + bench.requests):
                began = time.perf_counter()
                status, body = _page(server, "GET", path, cookies, csrf)
                if status != 200:
                    raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
                if attempt >= 3:
                    timings.append((time.perf_counter() - began) * 1000)
            rows.append(_row(bench, f"dashboard page: {label}", path, timings, None))
        rows += [bench.measure(server, label=label, path=path, token=token) for label, path in requests]
    return {
        "sizes": {"clv_customers": CLV_CUSTOMERS, **sizes},
        "setup": {"migrate_s": round(migrated - started, 1), "load_s": round(loaded - migrated, 1)},
        "server": gunicorn_config(),
        "rows": rows,
        "notes": notes,
        "metrics": run.metrics,
    }
