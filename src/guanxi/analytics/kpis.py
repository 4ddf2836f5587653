"""The KPI engine: a registry of KPIs and the KpiValue table kept fresh per month from the event spine.

A KPI is a formula over one month that returns (dimension, numerator, denominator) rows: "" for
everyone, "team:<id>" and "owner:<id>" for the records' team and owner. The value is numerator ÷
denominator (or the numerator alone for a `sum`), so several dimensions add up correctly. Other apps
register theirs (CSAT, NPS, first-contact resolution …) with `kpi(...)` from their `ready()` and name
the models whose events make a month stale.
"""

from __future__ import annotations

import contextvars
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
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


def grouped(qs: QuerySet[Any], numerator: Any, denominator: Any, dims: dict[str, str] | None = None) -> list[Row]:
    """The same aggregate for everyone and per dimension value (`dims`: dimension name → field, team and owner
    by default), each row keyed "" or "<dimension>:<value>"."""
    rows: list[Row] = []
    total = qs.aggregate(n=numerator, d=denominator)
    rows.append(("", float(total["n"] or 0), float(total["d"] or 0)))
    for dim, name in (dims or {"team": "team", "owner": "owner"}).items():
        for r in qs.exclude(**{f"{name}__isnull": True}).values(name).annotate(n=numerator, d=denominator).order_by():
            if r[name] != "":
                rows.append((f"{dim}:{r[name]}", float(r["n"] or 0), float(r["d"] or 0)))
    return rows


# "app_label.model" → (model, date fields): the months a record's KPIs live in (see `kpis_on_event`)
_source_dates: dict[str, tuple[Any, tuple[str, ...]]] = {}


def kpi_source(label: str, model: Any, *date_fields: str) -> None:
    """Name the date fields that place a source model's record in a month, for the event handler."""
    _source_dates[label] = (model, date_fields)


def _orders(start: datetime, end: datetime) -> QuerySet[Order]:
    return Order.objects.filter(COUNTED, ordered_at__gte=start, ordered_at__lt=end)


REVENUE = Sum(F("gross_total") * F("rate_to_cny"))


def revenue_formula(start: datetime, end: datetime) -> list[Row]:
    return grouped(_orders(start, end), REVENUE, Count("id"))


def aov_formula(start: datetime, end: datetime) -> list[Row]:
    return grouped(_orders(start, end), REVENUE, Count("id"))


def _customers_of(qs: QuerySet[Order]) -> dict[str, set[tuple[int | None, int | None]]]:
    """Customers (account, contact) per dimension of the given orders."""
    out: dict[str, set[tuple[int | None, int | None]]] = defaultdict(set)
    for account, contact, team, owner in qs.values_list("account_id", "contact_id", "team_id", "owner_id"):
        key = (account, None) if account else (None, contact)
        out[""].add(key)
        if team:
            out[f"team:{team}"].add(key)
        if owner:
            out[f"owner:{owner}"].add(key)
    return out


def repurchase_formula(start: datetime, end: datetime) -> list[Row]:
    """Of the customers buying this month, the share who had bought before."""
    month = _orders(start, end)
    buyers = _customers_of(month)
    # only this month's buyers' earlier orders, not the whole history (no default ordering in the DISTINCT)
    earlier = Order.objects.filter(COUNTED, ordered_at__lt=start).filter(
        Q(account_id__in=month.exclude(account__isnull=True).values("account_id"))
        | Q(account__isnull=True, contact_id__in=month.filter(account__isnull=True).values("contact_id"))
    )
    pairs = earlier.order_by().values_list("account_id", "contact_id").distinct()
    before = {(a, None) if a else (None, c) for a, c in pairs}
    return [(dim, float(len(keys & before)), float(len(keys))) for dim, keys in buyers.items()]


def retention_formula(start: datetime, end: datetime) -> list[Row]:
    """Of last month's buyers, the share who bought again this month."""
    prev_start = month_bounds(month_start((start - timedelta(days=1)).date()))[0]
    previous = _customers_of(_orders(prev_start, start))
    now = _customers_of(_orders(start, end))[""]
    return [(dim, float(len(keys & now)), float(len(keys))) for dim, keys in previous.items()]


def interaction_formula(start: datetime, end: datetime) -> list[Row]:
    """Interactions per customer touched in the month (calls, emails, visits …; tasks excluded)."""
    qs = Interaction.objects.filter(occurred_at__gte=start, occurred_at__lt=end).exclude(kind=Interaction.Kind.TASK)
    touched = Count("contact", distinct=True) + Count("account", distinct=True) + Count("lead", distinct=True)
    return grouped(qs, Count("id"), touched)


def deals_won_formula(start: datetime, end: datetime) -> list[Row]:
    qs = Deal.objects.filter(closed_at__gte=start, closed_at__lt=end, status__in=[DealStatus.WON, DealStatus.LOST])
    return grouped(qs, Count("id", filter=Q(status=DealStatus.WON)), Count("id"))


def _new_customers(start: datetime, end: datetime) -> int:
    firsts = (
        Order.objects.filter(COUNTED)
        .values("account_id", "contact_id")
        .annotate(first=Min("ordered_at"))
        .filter(first__gte=start, first__lt=end)
    )
    return firsts.count()


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
        label=_("Orders"),
        unit="count",
        kind="sum",
        sources=[orders],
        drill="orders",
        formula=lambda s, e: [(d, den, 0.0) for d, _n, den in revenue_formula(s, e)],
        help=_("Orders placed in the month."),
    )
    kpi(
        code="aov",
        label=_("Average order value"),
        unit="CNY",
        formula=aov_formula,
        sources=[orders],
        drill="orders",
        help=_("Revenue ÷ orders."),
    )
    kpi(
        code="repurchase_rate",
        label=_("Repurchase rate"),
        unit="%",
        formula=repurchase_formula,
        sources=[orders],
        drill="orders",
        help=_("Customers buying in the month who had bought before ÷ all customers buying in it."),
    )
    kpi(
        code="retention_rate",
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


@transaction.atomic
def kpi_month_refresh(*, code: str, month: date, as_of_event: int = 0) -> int:
    """Recompute one KPI for one month, every dimension; returns how many values were written."""
    item = _registry[code]
    start, end = month_bounds(month_start(month))
    rows = list(item.formula(start, end))
    if not any(d == "" for d, _n, _d in rows):
        # an empty month still gets its company row: it carries `as_of_event`, without which every event of a
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
                as_of_event=as_of_event if d == "" else 0,
            )
            for d, n, den in rows
        ]
    )
    return len(rows)


def kpis_refresh(*, months: Iterable[date], codes: Iterable[str] | None = None) -> int:
    """Recompute the given KPIs (all by default) for the given months."""
    written = 0
    for code in codes or list(_registry):
        for month in months:
            written += kpi_month_refresh(code=code, month=month)
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
    """Event-spine handler: recompute the KPIs fed by this record's model, for the months it touches.

    Idempotent (a recomputation), so at-least-once delivery is fine. An order recomputes the month
    after it too, because retention compares consecutive months. A (KPI, month) already recomputed after
    this event was committed is skipped (its company row keeps the highest event id committed when it was
    read), so a dispatch batch of a thousand new orders recomputes each month once, not a thousand times.
    An event whose transaction commits after a higher id was read can be skipped too; the nightly
    rebuild of the last 13 months puts such a month right. Within a dispatch batch, what `kpis_batch_start`
    read for the whole batch (the records' months, the months' freshness) saves two queries per event.
    """
    label = f"{event.content_type.app_label}.{event.content_type.model}"
    codes = _codes_fed_by(label)
    if not codes:
        return
    batch = _batch.get()
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
    stale = [(c, m) for c in codes for m in sorted(months) if (c, m) not in fresh]
    if not stale:
        return
    seen = Event.objects.aggregate(top=Max("id"))["top"] or event.pk
    for code, month in stale:
        kpi_month_refresh(code=code, month=month, as_of_event=seen)
        if batch is not None:
            # later events of the batch find the month fresh; should this event's savepoint roll back, the
            # nightly rebuild puts the month right, as for a late commit above
            batch.as_of[(code, month)] = seen


def _codes_fed_by(label: str) -> list[str]:
    return [code for code, item in _registry.items() if label in item.sources]


def _months_of(event: Event, record_months: set[date]) -> set[date]:
    """The months an event touches (its own, its record's dates) and the month after each (for retention)."""
    months = months_touched(event) | record_months
    return months | {next_month(m) for m in months}


@dataclass
class _BatchState:
    months: dict[int, set[date]]  # event id → the months it touches
    as_of: dict[tuple[str, date], int]  # (KPI, month) → the event id its company row is fresh to


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
    _batch.set(None)


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
