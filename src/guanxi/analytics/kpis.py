"""The KPI engine: a registry of KPIs and the KpiValue table kept fresh per month from the event spine.

A KPI is a formula over one month that returns (dimension, numerator, denominator) rows: "" for
everyone, "team:<id>" and "owner:<id>" for the records' team and owner. The value is numerator ÷
denominator (or the numerator alone for a `sum`), so several dimensions add up correctly. Other apps
register theirs (CSAT, NPS, first-contact resolution …) with `kpi(...)` from their `ready()` and name
the models whose events make a month stale.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import Event
from guanxi.customers.models import Interaction
from guanxi.sales.models import Deal, DealStatus, Order

from .models import AcquisitionSpend, CustomerScore, KpiValue
from .orderdata import COUNTED

Row = tuple[str, float, float]  # dimension, numerator, denominator
Formula = Callable[[datetime, datetime], Iterable[Row]]


@dataclass(frozen=True)
class Kpi:
    code: str
    label: Any
    unit: str  # "CNY", "%", "count", "per customer"
    formula: Formula
    sources: frozenset[str]  # "app_label.model" whose events make a month stale
    kind: str = "ratio"  # or "sum"
    dimensions: tuple[str, ...] = ("team", "owner")
    help: Any = ""
    drill: str = ""  # what the records behind the number are: "orders", "deals", "interactions", "customers", "tickets"
    higher_is_better: bool = True
    # the value per dimension is a sum of each customer's share, which the formula reads from that customer's
    # orders alone (through `counted_orders`): a new order then updates it by the difference it makes to its
    # customer's share, without recounting the month (see `kpis_batch_end`)
    per_customer: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    # another app's records behind the number: (model's scoped queryset, month start, end) → those records;
    # `records_perm` is the permission needed to read them (and so to see the KPI at all)
    records: Callable[[QuerySet[Any], datetime, datetime], QuerySet[Any]] | None = None
    records_model: Any = None
    records_perm: str = ""

    def value(self, numerator: float, denominator: float) -> float | None:
        if self.kind == "sum":
            return numerator
        if not denominator:
            return None
        return numerator / denominator * (100 if self.unit == "%" else 1)


_registry: dict[str, Kpi] = {}


def kpi(**kwargs: Any) -> Kpi:
    """Register a KPI (see `Kpi`); re-registering a code replaces it."""
    kwargs["sources"] = frozenset(kwargs.get("sources", ()))
    item = Kpi(**kwargs)
    _registry[item.code] = item
    return item


def kpis() -> dict[str, Kpi]:
    return dict(_registry)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(month, datetime.min.time()))
    return start, timezone.make_aware(datetime.combine(next_month(month), datetime.min.time()))


def grouped(
    qs: QuerySet[Any], numerator: Any, denominator: Any, dims: dict[str, str] | None = None, *, additive: bool = True
) -> list[Row]:
    """The same aggregate for everyone and per dimension value (`dims`: dimension name → field, team and owner
    by default), each row keyed "" or "<dimension>:<value>".

    Sums and counts (`additive`) are read in one pass grouped by every dimension at once and added up here;
    a distinct count cannot be added up, so it reads each dimension on its own."""
    dims = dims or {"team": "team", "owner": "owner"}
    if not additive:
        rows: list[Row] = []
        total = qs.aggregate(n=numerator, d=denominator)
        rows.append(("", float(total["n"] or 0), float(total["d"] or 0)))
        for dim, name in dims.items():
            per = qs.exclude(**{f"{name}__isnull": True}).values(name).annotate(n=numerator, d=denominator)
            rows += [
                (f"{dim}:{r[name]}", float(r["n"] or 0), float(r["d"] or 0)) for r in per.order_by() if r[name] != ""
            ]
        return rows
    sums: dict[str, list[float]] = {"": [0.0, 0.0]}
    for r in qs.values(*dims.values()).annotate(n=numerator, d=denominator).order_by():
        n, d = float(r["n"] or 0), float(r["d"] or 0)
        keys = [""] + [f"{dim}:{r[name]}" for dim, name in dims.items() if r[name] is not None and r[name] != ""]
        for key in keys:
            pair = sums.setdefault(key, [0.0, 0.0])
            pair[0] += n
            pair[1] += d
    return [(key, n, d) for key, (n, d) in sums.items()]


# "app_label.model" → (model, date fields): the months a record's KPIs live in (see `kpis_on_event`)
_source_dates: dict[str, tuple[Any, tuple[str, ...]]] = {}


def kpi_source(label: str, model: Any, *date_fields: str) -> None:
    """Name the date fields that place a source model's record in a month, for the event handler."""
    _source_dates[label] = (model, date_fields)


@dataclass(frozen=True)
class _Customers:
    """Some customers' orders only: (account ids, contact ids of orders without an account), less `without`."""

    accounts: frozenset[int]
    contacts: frozenset[int]
    without: frozenset[int] = frozenset()


_only: contextvars.ContextVar[_Customers | None] = contextvars.ContextVar("kpi_only", default=None)


def counted_orders() -> QuerySet[Order]:
    """The orders that count (not cancelled or refunded); within `_only`, only those customers' orders."""
    qs = Order.objects.filter(COUNTED)
    only = _only.get()
    if only is not None:
        qs = qs.filter(Q(account_id__any=only.accounts) | Q(account__isnull=True, contact_id__any=only.contacts))
        if only.without:
            qs = qs.exclude(pk__any=only.without)
    return qs


def _orders(start: datetime, end: datetime) -> QuerySet[Order]:
    return counted_orders().filter(ordered_at__gte=start, ordered_at__lt=end)


REVENUE = Sum(F("gross_total") * F("rate_to_cny"))


Customer = tuple[int | None, int | None]  # (account, None) or, for an order without an account, (None, contact)

# while a refresh or a batch's differences run (`shared_reads`): what several KPIs read, read once per scope
_memo: contextvars.ContextVar[dict[Any, Any] | None] = contextvars.ContextVar("kpi_memo", default=None)


@contextlib.contextmanager
def shared_reads(since: date | None = None) -> Iterator[None]:
    """Within the block, the formulas read what several KPIs share once (a month's sums and buyers, every
    customer's first order) instead of once per KPI and month. With `since`, no month before it is counted."""
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({"since": month_bounds(since)[0] if since else None})
    try:
        yield
    finally:
        _memo.reset(token)


def _memoised(key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
    memo = _memo.get()
    if memo is None:
        return compute()
    key = (*key, _only.get())
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _forget_before(moment: datetime) -> None:
    """Drop the shared reads of months that start before `moment` (a refresh walks the months in order)."""
    memo = _memo.get()
    for key in [k for k in memo or {} if isinstance(k, tuple) and isinstance(k[1], datetime) and k[1] < moment]:
        del memo[key]  # type: ignore[union-attr]


def revenue_formula(start: datetime, end: datetime) -> list[Row]:
    return _memoised(("revenue", start, end), lambda: grouped(_orders(start, end), REVENUE, Count("id")))


def orders_formula(start: datetime, end: datetime) -> list[Row]:
    return [(d, den, 0.0) for d, _n, den in revenue_formula(start, end)]


def _buyers(start: datetime, end: datetime) -> dict[str, set[Customer]]:
    """The customers buying in [start, end), for everyone and per team and owner of their orders."""

    def read() -> dict[str, set[Customer]]:
        out: dict[str, set[Customer]] = defaultdict(set)
        rows = _orders(start, end).values_list("account_id", "contact_id", "team_id", "owner_id")
        for account, contact, team, owner in rows:
            key = (account, None) if account else (None, contact)
            out[""].add(key)
            if team:
                out[f"team:{team}"].add(key)
            if owner:
                out[f"owner:{owner}"].add(key)
        return out

    return _memoised(("buyers", start, end), read)


def _first_orders(start: datetime, end: datetime) -> dict[Customer, datetime]:
    """When each customer buying in [start, end) first bought. Within `shared_reads`, every customer's, read
    once; when the reads were opened `since` a moment, only those who first bought from then on (the others
    bought before every month the refresh counts). A customer missing from the answer bought before."""
    qs = counted_orders()
    memo = _memo.get()
    if memo is None:
        month = _orders(start, end)
        qs = qs.filter(
            Q(account_id__in=month.exclude(account__isnull=True).values("account_id"))
            | Q(account__isnull=True, contact_id__in=month.filter(account__isnull=True).values("contact_id"))
        )

    def read() -> dict[Customer, datetime]:
        firsts: dict[Customer, datetime] = {}
        rows = qs.values("account_id", "contact_id").annotate(first=Min("ordered_at")).order_by()
        if memo is not None and memo.get("since"):
            rows = rows.filter(first__gte=memo["since"])
        for account, contact, first in rows.values_list("account_id", "contact_id", "first"):
            key = (account, None) if account else (None, contact)
            if key not in firsts or first < firsts[key]:
                firsts[key] = first
        return firsts

    return _memoised(("firsts",), read)


def repurchase_formula(start: datetime, end: datetime) -> list[Row]:
    """Of the customers buying this month, the share who had bought before."""
    firsts, buyers = _first_orders(start, end), _buyers(start, end)
    returning = {key for key in buyers.get("", set()) if key not in firsts or firsts[key] < start}
    return [(dim, float(len(keys & returning)), float(len(keys))) for dim, keys in buyers.items()]


def retention_formula(start: datetime, end: datetime) -> list[Row]:
    """Of last month's buyers, the share who bought again this month."""
    prev_start = month_bounds(month_start((start - timedelta(days=1)).date()))[0]
    now = _buyers(start, end).get("", set())
    return [(dim, float(len(keys & now)), float(len(keys))) for dim, keys in _buyers(prev_start, start).items()]


def interaction_formula(start: datetime, end: datetime) -> list[Row]:
    """Interactions per customer touched in the month (calls, emails, visits …; tasks excluded)."""
    qs = Interaction.objects.filter(occurred_at__gte=start, occurred_at__lt=end).exclude(kind=Interaction.Kind.TASK)
    touched = Count("contact", distinct=True) + Count("account", distinct=True) + Count("lead", distinct=True)
    return grouped(qs, Count("id"), touched, additive=False)


def deals_won_formula(start: datetime, end: datetime) -> list[Row]:
    qs = Deal.objects.filter(closed_at__gte=start, closed_at__lt=end, status__in=[DealStatus.WON, DealStatus.LOST])
    return grouped(qs, Count("id", filter=Q(status=DealStatus.WON)), Count("id"))


def _new_customers(start: datetime, end: datetime) -> int:
    """Customers whose first order fell in [start, end)."""
    firsts = _first_orders(start, end)
    return sum(1 for key in _buyers(start, end).get("", set()) if key in firsts and firsts[key] >= start)


def cac_formula(start: datetime, end: datetime) -> list[Row]:
    """Acquisition spend of the month ÷ customers whose first order fell in it (company-wide only)."""
    spend = AcquisitionSpend.objects.filter(month=start.date()).aggregate(s=Sum("amount"))["s"] or 0
    return [("", float(spend), float(_new_customers(start, end)))]


def ltv_formula(start: datetime, end: datetime) -> list[Row]:
    """Mean predicted 12-month value of the customers scored in the month's latest run."""
    latest = CustomerScore.objects.filter(period__gte=start.date(), period__lt=end.date(), clv__isnull=False)
    period = latest.order_by("-period").values_list("period", flat=True).first()
    if period is None:
        return [("", 0.0, 0.0)]
    agg = latest.filter(period=period).aggregate(n=Sum("clv"), d=Count("id"))
    return [("", float(agg["n"] or 0), float(agg["d"] or 0))]


def register_builtin() -> None:
    orders, deals = "sales.order", "sales.deal"
    kpi(
        code="revenue",
        per_customer=True,
        label=_("Revenue"),
        unit="CNY",
        formula=revenue_formula,
        sources=[orders],
        kind="sum",
        drill="orders",
        help=_("Orders placed in the month, cancelled and refunded ones excluded, in CNY."),
    )
    kpi(
        code="orders",
        per_customer=True,
        label=_("Orders"),
        unit="count",
        kind="sum",
        sources=[orders],
        drill="orders",
        formula=orders_formula,
        help=_("Orders placed in the month."),
    )
    kpi(
        code="aov",
        per_customer=True,
        label=_("Average order value"),
        unit="CNY",
        formula=revenue_formula,
        sources=[orders],
        drill="orders",
        help=_("Revenue ÷ orders."),
    )
    kpi(
        code="repurchase_rate",
        per_customer=True,
        label=_("Repurchase rate"),
        unit="%",
        formula=repurchase_formula,
        sources=[orders],
        drill="orders",
        help=_("Customers buying in the month who had bought before ÷ all customers buying in it."),
    )
    kpi(
        code="retention_rate",
        per_customer=True,
        label=_("Retention rate"),
        unit="%",
        formula=retention_formula,
        sources=[orders],
        drill="orders",
        help=_("Last month's customers who bought again this month ÷ last month's customers."),
    )
    kpi(
        code="interaction_frequency",
        label=_("Interactions per customer"),
        unit="per customer",
        formula=interaction_formula,
        sources=["customers.interaction"],
        drill="interactions",
        help=_("Calls, emails, visits … in the month ÷ customers they were with."),
    )
    kpi(
        code="deals_won_rate",
        label=_("Deals won rate"),
        unit="%",
        formula=deals_won_formula,
        sources=[deals],
        drill="deals",
        help=_("Deals won ÷ deals closed (won or lost) in the month."),
    )
    kpi(
        code="cac",
        per_customer=True,
        label=_("Customer acquisition cost"),
        unit="CNY",
        formula=cac_formula,
        dimensions=(),
        sources=[orders, "analytics.acquisitionspend"],
        higher_is_better=False,
        help=_("Acquisition spend entered for the month ÷ new customers (first order in the month)."),
    )
    kpi(
        code="ltv",
        label=_("Predicted customer value"),
        unit="CNY",
        formula=ltv_formula,
        dimensions=(),
        sources=["analytics.modelrun"],
        drill="customers",
        help=_("Mean predicted value over the next 12 months (BG/NBD × Gamma–Gamma) from the latest scoring."),
    )


# one PostgreSQL advisory lock orders every write of KPI values between workers (see `_kpi_lock`)
_KPI_LOCK = 0x4B5049


def _kpi_lock() -> None:
    """Hold the KPI lock until the transaction ends, so that a month is never recounted while a batch adds its
    new orders' differences to it (which would count them twice). SQLite has a single writer anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_KPI_LOCK])


@transaction.atomic
def kpi_month_refresh(*, code: str, month: date) -> int:
    """Recompute one KPI for one month, every dimension; returns how many values were written."""
    return _recount(code, month)[0]


def _recount(code: str, month: date) -> tuple[int, int]:
    """Recount one KPI's month; returns the values written and the event id the month is now fresh to."""
    _kpi_lock()
    item = _registry[code]
    start, end = month_bounds(month_start(month))
    rows = list(item.formula(start, end))
    # read after the formula: an event at or below it had its record counted (or committed so late that the
    # nightly rebuild must count it), so neither its handler nor a batch's difference counts it again
    seen = Event.objects.aggregate(top=Max("id"))["top"] or 0
    if not any(d == "" for d, _n, _d in rows):
        # an empty month still gets its company row: it carries the stamp, without which every event of a
        # dispatch batch would recompute the month again (a thousand new orders, a thousand recounts)
        rows.append(("", 0.0, 0.0))
    KpiValue.objects.filter(kpi=code, period=start.date()).delete()
    KpiValue.objects.bulk_create(
        [
            KpiValue(
                kpi=code,
                period=start.date(),
                dimension=d,
                numerator=n,
                denominator=den,
                as_of_event=seen if d == "" else 0,
            )
            for d, n, den in rows
        ]
    )
    return len(rows), seen


def kpis_refresh(*, months: Iterable[date], codes: Iterable[str] | None = None) -> int:
    """Recompute the given KPIs (all by default) for the given months, month by month with shared reads."""
    written, months = 0, sorted(set(months))
    with shared_reads(since=months[0] if months else None):
        for month in months:
            for code in codes or list(_registry):
                written += kpi_month_refresh(code=code, month=month)
            # the next month's retention still reads this month's buyers
            _forget_before(month_bounds(month)[0])
    return written


def months_touched(event: Event) -> set[date]:
    """The months whose figures an event can change: its own, the record's dates before and after."""
    months = {month_start(timezone.localtime(event.occurred_at).date())}
    for name in ("ordered_at", "closed_at", "occurred_at", "month"):
        for value in (event.changes or {}).get(name, []) or []:
            if value:
                try:
                    parsed = value if isinstance(value, date) else datetime.fromisoformat(str(value))
                except ValueError:
                    continue
                day = parsed.date() if isinstance(parsed, datetime) else parsed
                months.add(month_start(day))
    return months


def kpis_on_event(event: Event) -> None:
    """Event-spine handler: bring the KPIs fed by this record's model up to date for the months it touches.

    A new order leaves its customers' KPIs (revenue, orders, repurchase …: those marked `per_customer`) to the
    end of its dispatch batch, which adds the difference the batch's orders make to their customers' shares
    (`kpis_batch_end`). Any other event recounts its months: idempotent, so at-least-once delivery is fine.
    An order recounts the month after it too, because retention compares consecutive months. A (KPI, month)
    recounted after this event was committed is skipped (its company row is stamped with the highest event
    id committed when it was read), so a batch of a thousand changed orders recounts each month once. An
    event whose transaction commits after a higher id was read can be skipped too; the nightly rebuild of
    the last 13 months puts such a month right. Within a dispatch batch, what `kpis_batch_start` read for
    the whole batch (the records' months, the months' freshness) saves two queries per event.
    """
    label = f"{event.content_type.app_label}.{event.content_type.model}"
    codes = _codes_fed_by(label)
    batch = _batch.get()
    if batch is not None and _is_new_order(event):
        batch.new_orders.append(event)
        codes = [code for code in codes if not _registry[code].per_customer]
    if not codes:
        return
    if batch is not None and event.pk in batch.months:
        months = batch.months[event.pk]
        fresh = {key for key, as_of in batch.as_of.items() if as_of >= event.pk}
    else:
        months = _months_of(event, _object_months(label, event.object_id))
        fresh = {
            (code, period)
            for code, period in KpiValue.objects.filter(
                kpi__in=codes, period__in=months, dimension="", as_of_event__gte=event.pk
            ).values_list("kpi", "period")
        }
    for code, month in [(c, m) for c in codes for m in sorted(months) if (c, m) not in fresh]:
        _written, seen = _recount(code, month)
        if batch is not None:
            # later events of the batch find the month fresh; should this event's savepoint roll back, the
            # nightly rebuild puts the month right, as for a late commit above
            batch.as_of[(code, month)] = seen


def _codes_fed_by(label: str) -> list[str]:
    return [code for code, item in _registry.items() if label in item.sources]


def _is_new_order(event: Event) -> bool:
    return event.action == "created" and (event.content_type.app_label, event.content_type.model) == (
        "sales",
        "order",
    )


def _months_of(event: Event, record_months: set[date]) -> set[date]:
    """The months an event touches (its own, its record's dates) and the month after each (for retention)."""
    months = months_touched(event) | record_months
    return months | {next_month(m) for m in months}


@dataclass
class _BatchState:
    months: dict[int, set[date]]  # event id → the months it touches
    as_of: dict[tuple[str, date], int]  # (KPI, month) → the event id its company row is fresh to
    new_orders: list[Event] = field(default_factory=list)  # left to the batch's end (see `kpis_batch_end`)


_batch: contextvars.ContextVar[_BatchState | None] = contextvars.ContextVar("kpi_batch", default=None)


def kpis_batch_start(batch: list[Event]) -> None:
    """Read, for a whole dispatch batch, the months each event touches (one query per record type) and how
    fresh those months' KPIs are (one query)."""
    wanted: dict[str, list[Event]] = defaultdict(list)
    for event in batch:
        label = f"{event.content_type.app_label}.{event.content_type.model}"
        if _codes_fed_by(label):
            wanted[label].append(event)
    months: dict[int, set[date]] = {}
    codes: set[str] = set()
    for label, events in wanted.items():
        dates = _records_months(label, {e.object_id for e in events})
        codes.update(_codes_fed_by(label))
        for event in events:
            months[event.pk] = _months_of(event, dates.get(event.object_id, set()))
    if not months:
        _batch.set(None)
        return
    rows = KpiValue.objects.filter(kpi__in=codes, period__in=set().union(*months.values()), dimension="")
    as_of = {(code, period): n for code, period, n in rows.values_list("kpi", "period", "as_of_event")}
    _batch.set(_BatchState(months=months, as_of=as_of))


def kpis_batch_end(handled: list[Event]) -> None:
    """Add what the batch's new orders change to their customers' per-customer KPIs, in the batch's
    transaction (so the events are settled together with their difference, exactly once)."""
    batch = _batch.get()
    _batch.set(None)
    if batch is None:
        return
    done = {event.pk for event in handled}
    new = [event for event in batch.new_orders if event.pk in done]
    if new:
        _new_orders_add(new, batch.months)


def _new_orders_add(events: list[Event], event_months: dict[int, set[date]]) -> None:
    """For each (KPI, month) the new orders can change: the difference between their customers' shares with
    and without the orders the stored value has not counted yet, added to the stored value.

    The stored value counts every order but those whose `created` event is still undispatched and newer than
    the month's stamp; so "without" leaves all those out, "with" puts back the ones of this batch, and the
    difference is exactly what the batch adds, even when one customer's orders arrive in several batches.
    Only the batch's customers are read (their orders, not the month's), so the time does not grow with the
    base. The months are the orders' own, the month after, and any later month in which those customers buy
    (a back-dated order changes whether they were buying before)."""
    _kpi_lock()
    codes = [code for code in _codes_fed_by("sales.order") if _registry[code].per_customer]
    batch_orders = {event.object_id for event in events}
    keys = Order.objects.filter(pk__any=batch_orders).values_list("account_id", "contact_id")
    customers = _Customers(
        accounts=frozenset(a for a, _c in keys if a), contacts=frozenset(c for a, c in keys if not a and c)
    )
    token, memo = _only.set(customers), _memo.set({})  # the batch's own shared reads, whatever runs around it
    try:
        months = set().union(*(event_months.get(event.pk, set()) for event in events))
        if not months:
            return
        later = counted_orders().filter(ordered_at__gte=month_bounds(min(months))[0])
        later = later.exclude(pk__any=batch_orders)
        for moment in later.datetimes("ordered_at", "month"):
            buying = month_start(timezone.localtime(moment).date())
            months |= {buying, next_month(buying)}
        # orders of these customers whose `created` event waits: order id → event id
        waiting = dict(
            Event.objects.undispatched()
            .filter(content_type__app_label="sales", content_type__model="order", action="created")
            .filter(object_id__in=counted_orders().values("pk"))
            .values_list("object_id", "pk")
        )
        stamps = {
            (code, period): n
            for code, period, n in KpiValue.objects.filter(kpi__in=codes, period__in=months, dimension="").values_list(
                "kpi", "period", "as_of_event"
            )
        }
        changes: dict[tuple[str, date, str], tuple[float, float]] = {}
        for code in codes:
            for month in sorted(months):
                if (code, month) not in stamps:
                    _recount(code, month)  # never counted: count it whole
                    continue
                uncounted = {order for order, event in waiting.items() if event > stamps[(code, month)]}
                adding = uncounted & batch_orders
                if not adding:
                    continue
                start, end = month_bounds(month)
                before = _shares(code, start, end, customers, uncounted)
                after = _shares(code, start, end, customers, uncounted - adding)
                for dim in before.keys() | after.keys():
                    n0, d0 = before.get(dim, (0.0, 0.0))
                    n1, d1 = after.get(dim, (0.0, 0.0))
                    if (n1 - n0, d1 - d0) != (0.0, 0.0):
                        changes[(code, month, dim)] = (n1 - n0, d1 - d0)
        _changes_add(changes)
    finally:
        _only.reset(token)
        _memo.reset(memo)


def _shares(
    code: str, start: datetime, end: datetime, customers: _Customers, without: set[int]
) -> dict[str, tuple[float, float]]:
    """The KPI's (numerator, denominator) per dimension over some customers' orders, less `without`."""
    token = _only.set(_Customers(customers.accounts, customers.contacts, frozenset(without)))
    try:
        totals: dict[str, tuple[float, float]] = {}
        for dim, n, d in _registry[code].formula(start, end):
            n0, d0 = totals.get(dim, (0.0, 0.0))
            totals[dim] = (n0 + n, d0 + d)
        return totals
    finally:
        _only.reset(token)


def _changes_add(changes: dict[tuple[str, date, str], tuple[float, float]]) -> None:
    """Add (numerator, denominator) differences to stored values; a dimension new to its month gets a row."""
    if not changes:
        return
    stored = {
        (row.kpi, row.period, row.dimension): row
        for row in KpiValue.objects.filter(
            kpi__in={k for k, _m, _d in changes}, period__in={m for _k, m, _d in changes}
        )
    }
    rows = []
    for key, (dn, dd) in changes.items():
        row = stored.get(key) or KpiValue(kpi=key[0], period=key[1], dimension=key[2])
        row.numerator += dn
        row.denominator += dd
        rows.append(row)
    # written anew (under the KPI lock): cheaper than an UPDATE with a CASE per row
    KpiValue.objects.filter(pk__any={row.pk for row in rows if row.pk}).delete()
    for row in rows:
        row.pk = None
    KpiValue.objects.bulk_create(rows)


def _date_sources() -> dict[str, tuple[Any, tuple[str, ...]]]:
    from .models import ModelRun

    builtin: dict[str, tuple[Any, tuple[str, ...]]] = {
        "sales.order": (Order, ("ordered_at",)),
        "sales.deal": (Deal, ("closed_at",)),
        "customers.interaction": (Interaction, ("occurred_at",)),
        "analytics.acquisitionspend": (AcquisitionSpend, ("month",)),
        "analytics.modelrun": (ModelRun, ("period",)),
    }
    return builtin | _source_dates


def _records_months(label: str, pks: set[int]) -> dict[int, set[date]]:
    """The months each record's own date fields fall in (its opening, resolution … month for a ticket)."""
    known = _date_sources()
    if label not in known:
        return {}
    model, names = known[label]
    found: dict[int, set[date]] = {}
    for pk, *values in model.objects.filter(pk__in=pks).values_list("pk", *names):
        found[pk] = set()
        for value in values:
            if isinstance(value, datetime):
                found[pk].add(month_start(timezone.localtime(value).date()))
            elif isinstance(value, date):
                found[pk].add(month_start(value))
    return found


def _object_months(label: str, pk: int) -> set[date]:
    """The months one record's own date fields fall in."""
    return _records_months(label, {pk}).get(pk, set())
