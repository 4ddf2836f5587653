"""Analytics reads, always scoped to the user: KPI figures, drill-down records, customer profiles, lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from guanxi.customers.models import Account, Contact, Interaction
from guanxi.sales.models import Deal, DealStatus, Order, Product

from .churn import feature_labels
from .kpis import Kpi, kpis, month_bounds, month_start, next_month
from .models import CustomerScore, KpiValue, ModelRun, Segment
from .orderdata import COUNTED

# the KPIs of each role's default dashboard
SERVICE_KPIS = [
    "first_contact_resolution",
    "first_response_time",
    "handling_time",
    "ticket_close_rate",
    "complaint_handling_time",
]
ROLE_KPIS = {
    "executive": [
        "revenue",
        "orders",
        "aov",
        "repurchase_rate",
        "retention_rate",
        "cac",
        "ltv",
        "deals_won_rate",
        "first_contact_resolution",
        "ticket_close_rate",
        "complaint_handling_time",
    ],
    "service": [*SERVICE_KPIS, "interaction_frequency"],
    # acquisition, value and loyalty: what campaigns and segments are judged by
    "marketing": [
        "cac",
        "ltv",
        "revenue",
        "repurchase_rate",
        "retention_rate",
        "nps",
        "csat",
        "interaction_frequency",
    ],
    "sales": ["revenue", "orders", "aov", "deals_won_rate", "interaction_frequency", "repurchase_rate"],
    "mine": ["revenue", "orders", "aov", "deals_won_rate", "interaction_frequency"],
}
# the two KPIs a role's trend chart draws (revenue and orders unless named here)
TREND_PAIRS = {
    "service": ("first_contact_resolution", "handling_time"),
    "marketing": ("repurchase_rate", "retention_rate"),
}


def dimensions_for(user: Any, scope: str = "") -> list[str] | None:
    """The KpiValue dimensions a user's figures add up from; None = the company-wide row.

    `scope="mine"` is the user's own records; otherwise administrators (and users who see everything)
    get the company row, everyone else the teams in their scope plus their own records.
    """
    if scope == "mine":
        return [f"owner:{user.pk}"]
    if user.sees_everything:
        return None
    return [f"team:{t}" for t in sorted(user.scope_team_ids)] or [f"owner:{user.pk}"]


# --- dimension filters --------------------------------------------------------------------------

DIMENSION_LABELS = {
    "team": gettext_lazy("Team"),
    "owner": gettext_lazy("Owner"),
    "channel": gettext_lazy("Channel"),
    "product": gettext_lazy("Product"),
    "queue": gettext_lazy("Queue"),
    "priority": gettext_lazy("Priority"),
}
# the dimensions whose figures stay inside a scoped user's records: KpiValue rows are kept per single
# dimension (not crossed with team), so "channel:email" counts every team's tickets and only users who see
# everything may filter by it
SCOPED_DIMENSIONS = ("team", "owner")


@dataclass(frozen=True)
class Slice:
    """A dashboard filtered to one value of one dimension ("team" = 3)."""

    dimension: str
    value: str
    label: str  # the value's display name

    @property
    def key(self) -> str:
        return f"{self.dimension}:{self.value}"

    @property
    def dimension_label(self) -> str:
        return str(DIMENSION_LABELS.get(self.dimension, self.dimension))


def not_available(dimension: str) -> str:
    """What a widget says when its figures are not kept by the dimension filtered on."""
    name = str(DIMENSION_LABELS.get(dimension, dimension)).lower()  # mid-sentence ("not available by team")
    return _("not available by %(dimension)s") % {"dimension": name}


def filter_dimensions(user: Any, codes: list[str]) -> list[str]:
    """The dimensions the given KPIs are kept by that this user may filter on, in a stable order."""
    found = {d for c in codes for d in kpis()[c].dimensions}
    if not user.sees_everything:
        found &= set(SCOPED_DIMENSIONS)
    return [d for d in DIMENSION_LABELS if d in found]


def dimension_values(user: Any, dimension: str) -> list[tuple[str, str]]:
    """(value, label) pairs of one dimension the user may see: their scope's teams and colleagues."""
    from guanxi.core.models import Team, User

    if dimension == "team":
        teams = Team.objects.all()
        if not user.sees_everything:
            teams = teams.filter(pk__in=user.scope_team_ids)
        return [(str(pk), name) for pk, name in teams.order_by("name").values_list("pk", "name")]
    if dimension == "owner":
        people = User.objects.filter(is_active=True, is_staff=True)
        if not user.sees_everything:
            people = User.objects.filter(Q(pk=user.pk) | Q(teams__in=user.scope_team_ids)).distinct()
        return [(str(p.pk), str(p)) for p in people.order_by("full_name", "email")]
    if dimension == "channel":
        from guanxi.feedback.models import Channel as FeedbackChannel
        from guanxi.service.models import Channel as TicketChannel

        choices = dict(FeedbackChannel.choices) | dict(TicketChannel.choices)
        return sorted(((v, str(label)) for v, label in choices.items()), key=lambda c: c[1])
    if dimension == "product":
        return [
            (str(pk), f"{sku} {name}")
            for pk, sku, name in Product.objects.order_by("sku").values_list("pk", "sku", "name")
        ]
    if dimension == "queue":
        from guanxi.service.models import Queue

        return [(str(pk), name) for pk, name in Queue.objects.order_by("name").values_list("pk", "name")]
    if dimension == "priority":
        from guanxi.service.models import Priority

        return [(v, str(label)) for v, label in Priority.choices]
    return []


def slice_for(*, user: Any, codes: list[str], dimension: str, value: str) -> Slice | None:
    """The filter asked for, checked against the dimensions of `codes` and the values the user may see;
    None when nothing is asked. Raises ValidationError naming the field on an unknown dimension or value."""
    dimension, value = dimension.strip(), value.strip()
    if not dimension and not value:
        return None
    allowed = filter_dimensions(user, codes)
    if dimension not in allowed:
        choices = ", ".join(str(DIMENSION_LABELS[d]) for d in allowed) or _("none")
        message = _("Unknown dimension “%(dimension)s”; choose one of: %(choices)s.")
        raise ValidationError({"dimension": message % {"dimension": dimension, "choices": choices}})
    labels = dict(dimension_values(user, dimension))
    if value not in labels:
        message = _("No %(dimension)s “%(value)s” among those you may see.")
        raise ValidationError({"value": message % {"dimension": str(DIMENSION_LABELS[dimension]), "value": value}})
    return Slice(dimension, value, labels[value])


@dataclass
class Figure:
    kpi: Kpi
    month: date
    value: float | None
    previous: float | None
    numerator: float
    denominator: float
    unavailable: str = ""  # the dimension filtered on when this KPI is not kept by it

    @property
    def note(self) -> str:
        return not_available(self.unavailable) if self.unavailable else ""

    @property
    def change(self) -> float | None:
        """Change vs the previous month in percent (None when either is missing or zero)."""
        if self.value is None or not self.previous:
            return None
        return round((self.value - self.previous) / abs(self.previous) * 100, 1)

    @property
    def good(self) -> bool | None:
        if self.change is None:
            return None
        return (self.change >= 0) == self.kpi.higher_is_better


def _sum(kpi_code: str, months: list[date], dims: list[str] | None) -> dict[date, tuple[float, float]]:
    qs = KpiValue.objects.filter(kpi=kpi_code, period__in=months)
    qs = qs.filter(dimension="") if dims is None else qs.filter(dimension__in=dims)
    out: dict[date, tuple[float, float]] = {}
    for period, num, den in qs.values_list("period", "numerator", "denominator"):
        n, d = out.get(period, (0.0, 0.0))
        # a team and an owner row can count the same record twice: team rows win when both are asked for
        out[period] = (n + num, d + den)
    return out


def kpi_series(
    *, user: Any, code: str, months: list[date], scope: str = "", where: Slice | None = None
) -> list[Figure]:
    """One KPI month by month as this user may see it (company-wide, their teams', or their own), or
    filtered to one value of a dimension (`where`, already checked by `slice_for`). A KPI not kept by that
    dimension gives figures without a value that say so, never the unfiltered number."""
    item = kpis()[code]
    dims = dimensions_for(user, scope)
    if where is not None:
        if where.dimension not in item.dimensions:
            return [Figure(item, m, None, None, 0.0, 0.0, unavailable=where.dimension) for m in months]
        dims = [where.key]
    elif not item.dimensions:
        dims = None  # a company-wide figure with no records in it (CAC, mean predicted value): shown as is
    sums = _sum(code, [*months, _previous(months[0])], dims)
    figures = []
    for month in months:
        n, d = sums.get(month, (0.0, 0.0))
        pn, pd = sums.get(_previous(month), (0.0, 0.0))
        figures.append(Figure(item, month, item.value(n, d), item.value(pn, pd), n, d))
    return figures


def _previous(month: date) -> date:
    return month_start(month - timedelta(days=1))


def months_ending(month: date, count: int) -> list[date]:
    months = [month_start(month)]
    while len(months) < count:
        months.insert(0, _previous(months[0]))
    return months


def kpi_codes_for(user: Any) -> list[str]:
    """KPIs a user's dashboard shows: the ones whose records they may read."""
    needs = {"orders": "sales.view_order", "deals": "sales.view_deal", "interactions": "customers.view_interaction"}
    return [
        code
        for code, item in kpis().items()
        if user.has_perm(item.records_perm or needs.get(item.drill, "analytics.view_kpivalue"))
    ]


# --- drill-down --------------------------------------------------------------------------------


def drill_records(*, user: Any, code: str, month: date, scope: str = "", where: Slice | None = None) -> QuerySet[Any]:
    """The records behind a KPI figure, scoped by visible_to (so a rep sees only theirs), and filtered like
    the figure (`where`); ValidationError when the KPI is not kept by that dimension."""
    item = kpis()[code]
    if where is not None and where.dimension not in item.dimensions:
        raise ValidationError({"dimension": not_available(where.dimension)})
    rows = _drill_records(user=user, item=item, month=month, scope=scope)
    if where is None:
        return rows
    if rows.model is CustomerScore:
        return rows.filter(_score_slice(where))
    return rows.filter(**{where.dimension: where.value})


def _score_slice(where: Slice) -> Q:
    """Scores of customers whose account or contact has this team or owner."""
    return Q(**{f"account__{where.dimension}": where.value}) | Q(**{f"contact__{where.dimension}": where.value})


def _drill_records(*, user: Any, item: Kpi, month: date, scope: str) -> QuerySet[Any]:
    start, end = month_bounds(month)
    mine = Q(owner=user) if scope == "mine" else Q()
    if item.records is not None:
        return item.records(item.records_model.objects.visible_to(user).filter(mine), start, end)
    if item.drill == "orders":
        return (
            Order.objects.visible_to(user)
            .filter(COUNTED, mine, ordered_at__gte=start, ordered_at__lt=end)
            .select_related("account", "contact", "owner", "currency")
            .order_by("-ordered_at", "-id")
        )
    if item.drill == "deals":
        return (
            Deal.objects.visible_to(user)
            .filter(mine, closed_at__gte=start, closed_at__lt=end, status__in=[DealStatus.WON, DealStatus.LOST])
            .select_related("account", "owner", "stage")
            .order_by("-closed_at", "-id")
        )
    if item.drill == "interactions":
        return (
            Interaction.objects.visible_to(user)
            .filter(mine, occurred_at__gte=start, occurred_at__lt=end)
            .exclude(kind=Interaction.Kind.TASK)
            .select_related("account", "contact", "lead", "owner")
            .order_by("-occurred_at", "-id")
        )
    period = latest_period(before=next_month(month))
    return (
        scores_visible_to(user).filter(period=period).order_by("-clv", "id") if period else CustomerScore.objects.none()
    )


# --- customer scores ---------------------------------------------------------------------------


def latest_period(before: date | None = None) -> date | None:
    qs = CustomerScore.objects.all()
    if before:
        qs = qs.filter(period__lt=before)
    return qs.order_by("-period").values_list("period", flat=True).first()


def scores_visible_to(user: Any) -> QuerySet[CustomerScore]:
    """Scores of the customers (accounts and contacts) the user may see."""
    if not user.has_perm("analytics.view_customerscore"):
        return CustomerScore.objects.none()
    if user.sees_everything:  # every customer: no subquery over a million accounts and contacts
        return CustomerScore.objects.select_related("account", "contact")
    # one index probe per score: `contact IN (every contact the user sees) OR account IN (…)` cannot be a
    # semi-join, and once the visible contacts outgrow work_mem PostgreSQL re-reads them for every score
    # (a scoped rep's dashboard at a million customers did not answer in two minutes)
    accounts = Account.objects.visible_to(user).filter(pk=OuterRef("account_id"))
    contacts = Contact.objects.visible_to(user).filter(pk=OuterRef("contact_id"))
    return CustomerScore.objects.filter(Exists(contacts) | Exists(accounts)).select_related("account", "contact")


def score_for(*, user: Any, kind: str, pk: int) -> CustomerScore | None:
    """The latest score of one customer the user may see."""
    field = "account" if kind == "account" else "contact"
    return scores_visible_to(user).filter(**{f"{field}_id": pk}).order_by("-period").first()


def customer_visible(*, user: Any, kind: str, pk: int) -> Account | Contact | None:
    model: Any = Account if kind == "account" else Contact
    return model.objects.visible_to(user).filter(pk=pk).first()


def churn_reasons(score: CustomerScore) -> list[dict[str, Any]]:
    """The churn factors with their display labels (in the viewer's language)."""
    labels = feature_labels()
    return [{**f, "label": str(labels.get(f["feature"], f["feature"]))} for f in score.churn_factors]


def products_by_id(ids: list[int]) -> list[Product]:
    found = {p.pk: p for p in Product.objects.filter(pk__in=ids)}
    return [found[i] for i in ids if i in found]


def high_value(user: Any, period: date) -> QuerySet[CustomerScore]:
    return scores_visible_to(user).filter(period=period, clv__isnull=False).order_by("-clv", "id")


def at_risk(user: Any, period: date, threshold: float = 0.5) -> QuerySet[CustomerScore]:
    """Customers likely to lapse, most valuable first (a high churn risk on a big spender matters most)."""
    return (
        scores_visible_to(user)
        .filter(period=period, churn_risk__gte=threshold)
        .order_by("-revenue", "-churn_risk", "id")
    )


def segment_counts(user: Any, period: date, where: Slice | None = None) -> list[dict[str, Any]]:
    from django.db.models import Count

    rows = {s: 0 for s in Segment.values}
    counted = scores_visible_to(user).filter(_slice_q(where), period=period).order_by().values("segment")
    for row in counted.annotate(n=Count("id")):
        rows[row["segment"]] += row["n"]
    return [{"segment": s, "label": str(Segment(s).label), "customers": n} for s, n in rows.items()]


def segment_migration(user: Any, period: date, previous: date) -> dict[str, dict[str, int]]:
    """How many customers moved from each segment in `previous` to each segment in `period`.

    A customer first scored in `period` comes from "" (new).
    """
    base = scores_visible_to(user)
    before = {
        (a, c): seg for a, c, seg in base.filter(period=previous).values_list("account_id", "contact_id", "segment")
    }
    matrix: dict[str, dict[str, int]] = {}
    for a, c, seg in base.filter(period=period).values_list("account_id", "contact_id", "segment"):
        origin = before.get((a, c), "")
        matrix.setdefault(origin, {}).setdefault(seg, 0)
        matrix[origin][seg] += 1
    return matrix


def score_periods() -> list[date]:
    return list(CustomerScore.objects.order_by("-period").values_list("period", flat=True).distinct()[:24])


def latest_run() -> ModelRun | None:
    return ModelRun.objects.order_by("-period", "-id").first()


# --- dashboard widgets -------------------------------------------------------------------------

WEEKDAYS = [
    pgettext_lazy("weekday", "Mon"),
    pgettext_lazy("weekday", "Tue"),
    pgettext_lazy("weekday", "Wed"),
    pgettext_lazy("weekday", "Thu"),
    pgettext_lazy("weekday", "Fri"),
    pgettext_lazy("weekday", "Sat"),
    pgettext_lazy("weekday", "Sun"),
]


@dataclass
class Heatmap:
    """Counts by weekday (0 = Monday) × hour (0–23, local time) of the month's tickets or interactions."""

    source: str  # "tickets" or "interactions"
    title: Any
    cells: list[list[int]]  # 7 rows of 24
    unavailable: str = ""  # the dimension filtered on when the records are not kept by it

    @property
    def total(self) -> int:
        return sum(sum(row) for row in self.cells)

    @property
    def peak(self) -> int:
        return max((max(row) for row in self.cells), default=0)


HEAT_DIMENSIONS = {"tickets": ("team", "owner", "channel", "queue", "priority"), "interactions": ("team", "owner")}


def heatmap(*, user: Any, month: date, source: str, scope: str = "", where: Slice | None = None) -> Heatmap:
    """When the month's work happens, scoped by visible_to: tickets opened or interactions logged; filtered
    by `where` when the records have that dimension, else empty and saying so."""
    from django.db.models import Count
    from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

    start, end = month_bounds(month_start(month))
    mine = Q(owner=user) if scope == "mine" else Q()
    if source == "tickets" and user.has_perm("service.view_ticket"):
        from guanxi.service.models import Ticket

        qs: QuerySet[Any] = Ticket.objects.visible_to(user).filter(mine, opened_at__gte=start, opened_at__lt=end)
        at, title = "opened_at", _("Tickets opened, by weekday and hour")
    elif user.has_perm("customers.view_interaction"):
        source = "interactions"
        qs = (
            Interaction.objects.visible_to(user)
            .filter(mine, occurred_at__gte=start, occurred_at__lt=end)
            .exclude(kind=Interaction.Kind.TASK)
        )
        at, title = "occurred_at", _("Interactions, by weekday and hour")
    else:
        return Heatmap(source, _("Interactions, by weekday and hour"), [[0] * 24 for _d in range(7)])
    cells = [[0] * 24 for _d in range(7)]
    if where is not None:
        if where.dimension not in HEAT_DIMENSIONS[source]:
            return Heatmap(source, title, cells, unavailable=where.dimension)
        qs = qs.filter(**{where.dimension: where.value})
    counted = (
        qs.order_by()
        .annotate(wd=ExtractIsoWeekDay(at), hr=ExtractHour(at))
        .values("wd", "hr")
        .annotate(n=Count("id"))
        .values_list("wd", "hr", "n")
    )
    for weekday, hour, n in counted:
        cells[int(weekday) - 1][int(hour)] += n
    return Heatmap(source, title, cells)


@dataclass
class Dashboard:
    """Every widget of one role's dashboard for one month, as one user may see it: what the page draws,
    the CSV and PDF exports print and the API returns."""

    role: str
    month: date
    numbers: list[Figure]
    months: list[date]
    trend: dict[str, list[Figure]]
    period: date | None
    segments: list[dict[str, Any]]
    funnel: list[dict[str, Any]]
    risky: list[CustomerScore]
    heat: Heatmap
    where: Slice | None = None

    @property
    def scores_note(self) -> str:
        """Why the customer-score widgets (funnel, segments, at-risk list) are empty under the filter."""
        if self.where is None or self.where.dimension in SCOPED_DIMENSIONS:
            return ""
        return not_available(self.where.dimension)

    def note(self, widget: str) -> str:
        """What a widget says instead of numbers when it is not kept by the filtered dimension ("" if it is)."""
        if widget in ("segments", "funnel", "risky"):
            return self.scores_note
        if widget == "heatmap":
            return not_available(self.heat.unavailable) if self.heat.unavailable else ""
        if widget == "trend" and self.trend and all(s and s[0].unavailable for s in self.trend.values()):
            return next(iter(self.trend.values()))[0].note
        return ""


def dashboard_codes(user: Any, role: str) -> list[str]:
    """The KPIs of a role's dashboard this user may see."""
    allowed = set(kpi_codes_for(user))
    return [c for c in ROLE_KPIS[role] if c in allowed]


def dashboard_dimensions(user: Any, role: str) -> list[str]:
    """The dimensions a role's dashboard can be filtered by; none on "my own" (already one owner's)."""
    return [] if role == "mine" else filter_dimensions(user, dashboard_codes(user, role))


def dashboard_slice(*, user: Any, role: str, dimension: str, value: str) -> Slice | None:
    """The dashboard filter asked for, checked (ValidationError naming the field when it is not offered)."""
    if role == "mine" and (dimension.strip() or value.strip()):
        message = _("“My own” shows your own records; it cannot be filtered further.")
        raise ValidationError({"dimension": message})
    return slice_for(user=user, codes=dashboard_codes(user, role), dimension=dimension, value=value)


def dashboard(*, user: Any, role: str, month: date, where: Slice | None = None) -> Dashboard:
    scope = "mine" if role == "mine" else ""
    allowed = set(kpi_codes_for(user))
    codes = dashboard_codes(user, role)
    months = months_ending(month, 12)
    numbers = [kpi_series(user=user, code=c, months=[month], scope=scope, where=where)[0] for c in codes]
    trend_pair = TREND_PAIRS.get(role, ("revenue", "orders"))
    trend = {
        c: kpi_series(user=user, code=c, months=months, scope=scope, where=where) for c in trend_pair if c in allowed
    }
    period = latest_period()
    segments: list[dict[str, Any]] = []
    funnel: list[dict[str, Any]] = []
    risky: list[CustomerScore] = []
    if period and (where is None or where.dimension in SCOPED_DIMENSIONS):
        counts, funnel_counts, risky_ids = _score_widgets(user, period, where)
        labels = dict(Segment.choices)
        segments = [{"segment": s, "label": str(labels[s]), "customers": counts.get(s, 0)} for s in Segment.values]
        names = [_("Customers who bought"), _("Bought more than once"), _("Loyal or champions")]
        funnel = [{"name": str(name), "value": n} for name, n in zip(names, funnel_counts, strict=True)]
        found = {s.pk: s for s in CustomerScore.objects.filter(pk__in=risky_ids).select_related("account", "contact")}
        risky = [found[pk] for pk in risky_ids if pk in found]
    source = "tickets" if role == "service" else "interactions"
    heat = heatmap(user=user, month=month, source=source, scope=scope, where=where)
    return Dashboard(role, month, numbers, months, trend, period, segments, funnel, risky, heat, where)


SCORE_WIDGETS_SECONDS = 300  # how long a scoped user's cached score widgets may lag a change of their scope


def _score_widgets(user: Any, period: date, where: Slice | None) -> tuple[dict[str, int], list[int], list[int]]:
    """Segment counts, the funnel's three counts and the eight valuable at-risk customers' score ids, read
    once per scoring run and viewer scope: scores change only when the nightly job runs (its run id is in
    the key), so the dashboard does not re-aggregate every customer's score on each page view."""
    from django.core.cache import cache
    from django.db.models import Count

    run = ModelRun.objects.order_by("-id").values_list("id", flat=True).first() or 0
    scope = "all" if user.sees_everything else f"user:{user.pk}"
    key = f"analytics:score-widgets:{run}:{period}:{scope}:{where.key if where else ''}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    scores = scores_visible_to(user).filter(_slice_q(where), period=period).order_by()
    counts = {row["segment"]: row["n"] for row in scores.values("segment").annotate(n=Count("id"))}
    totals = scores.aggregate(
        bought=Count("id"),
        again=Count("id", filter=Q(orders__gte=2)),
        loyal=Count("id", filter=Q(segment__in=[Segment.LOYAL, Segment.CHAMPIONS])),
    )
    risky = list(at_risk(user, period).filter(_slice_q(where)).values_list("id", flat=True)[:8])
    value = (counts, [totals["bought"], totals["again"], totals["loyal"]], risky)
    cache.set(key, value, SCORE_WIDGETS_SECONDS)
    return value


def _slice_q(where: Slice | None) -> Q:
    return Q() if where is None else _score_slice(where)


def widget_table(board: Dashboard, widget: str) -> tuple[list[str], list[list[Any]]]:
    """One widget's numbers as a header and rows (the CSV export, the PDF's tables); KeyError if unknown."""
    if widget == "numbers":
        return [str(_("KPI")), str(_("Value")), str(_("Unit")), str(_("Change vs previous month (%)"))], [
            [str(f.kpi.label), f.note or _rounded(f.value), f.kpi.unit, "" if f.change is None else f.change]
            for f in board.numbers
        ]
    if widget == "trend":
        shown = {c: series for c, series in board.trend.items() if series and not series[0].unavailable}
        header = [str(_("Month")), *(str(series[0].kpi.label) for series in shown.values())]
        rows = [
            [m.strftime("%Y-%m"), *(_rounded(series[i].value) for series in shown.values())]
            for i, m in enumerate(board.months)
        ]
        return header, rows if shown else []
    if widget == "segments":
        return [str(_("Segment")), str(_("Customers"))], [[s["label"], s["customers"]] for s in board.segments]
    if widget == "funnel":
        return [str(_("Step")), str(_("Customers"))], [[s["name"], s["value"]] for s in board.funnel]
    if widget == "heatmap":
        header = [str(_("Weekday")), *(f"{h:02d}" for h in range(24))]
        if board.heat.unavailable:
            return header, []
        return header, [[str(WEEKDAYS[d]), *board.heat.cells[d]] for d in range(7)]
    raise KeyError(widget)


WIDGETS = ("numbers", "trend", "segments", "funnel", "heatmap")


def _rounded(value: float | None) -> Any:
    return "" if value is None else round(value, 4)


# --- customer journey --------------------------------------------------------------------------

TOUCH_DAYS = 30  # interactions this many days before a conversion count as its touchpoints


@dataclass
class Journey:
    stages: list[dict[str, Any]]  # stage, label, customers, share (%)
    conversions: list[dict[str, Any]]  # from, to, customers, median_days
    touchpoints: list[dict[str, Any]]  # dimension ("kind"/"channel"), label, conversions, share (%), touches
    converted: int  # conversions the touchpoints are counted over
    since: date


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def journey(*, user: Any, since: date) -> Journey:
    """Lifecycle stages of the customers the user may see, the moves between stages since `since` with the
    days each took, and the interaction kinds and channels in the 30 days before each conversion.

    A conversion is a stage change to a later stage (lead → prospect → customer → loyal) recorded on the
    event spine, or a customer's first order (the moment they became a customer).
    """
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Count, Min

    from guanxi.core.models import Event
    from guanxi.customers.models import LifecycleStage

    from .orderdata import customer_key

    order = [LifecycleStage.LEAD, LifecycleStage.PROSPECT, LifecycleStage.CUSTOMER, LifecycleStage.LOYAL]
    accounts = Account.objects.visible_to(user).filter(archived_at__isnull=True)
    contacts = Contact.objects.visible_to(user).filter(archived_at__isnull=True)
    counts: dict[str, int] = {s: 0 for s in LifecycleStage.values}
    for qs in (accounts, contacts):
        for stage, n in qs.order_by().values_list("lifecycle_stage").annotate(n=Count("id")):
            counts[stage] = counts.get(stage, 0) + n
    total = sum(counts.values())
    stages = [
        {
            "stage": s,
            "label": str(LifecycleStage(s).label),
            "customers": counts.get(s, 0),
            "share": round(counts.get(s, 0) / total * 100, 1) if total else 0.0,
        }
        for s in LifecycleStage.values
    ]
    start = month_bounds(month_start(since))[0]
    # conversions on the event spine: (customer key, moment, from, to), and each record's previous move
    types = {ContentType.objects.get_for_model(Account).pk: "a", ContentType.objects.get_for_model(Contact).pk: "c"}
    events = (
        Event.objects.filter(
            action="stage_changed", content_type_id__in=list(types), changes__has_key="lifecycle_stage"
        )
        .filter(
            Q(content_type_id=ContentType.objects.get_for_model(Account).pk, object_id__in=accounts.values("pk"))
            | Q(content_type_id=ContentType.objects.get_for_model(Contact).pk, object_id__in=contacts.values("pk"))
        )
        .order_by("occurred_at", "id")
        .values_list("content_type_id", "object_id", "occurred_at", "changes")
    )
    moves: dict[tuple[str, str], list[float]] = {}
    conversions: list[tuple[int, Any]] = []
    last_move: dict[tuple[str, int], Any] = {}
    for ct, pk, at, changes in events:
        kind = types[ct]
        before, after = (changes.get("lifecycle_stage") or [None, None])[:2]
        previous = last_move.get((kind, pk))
        last_move[(kind, pk)] = at
        if at < start or not before or not after:
            continue
        days = (at - previous).total_seconds() / 86400 if previous else None
        moves.setdefault((before, after), []).append(days if days is not None else -1.0)  # -1: first move seen
        if after in order and before in order and order.index(after) > order.index(before):
            key = customer_key(pk, None) if kind == "a" else customer_key(None, pk)
            conversions.append((key, at))
    # a first order is a conversion to customer too (it is when most customers became one)
    firsts = (
        Order.objects.filter(COUNTED)
        .filter(Q(account__in=accounts.values("pk")) | Q(account__isnull=True, contact__in=contacts.values("pk")))
        .order_by()
        .values("account_id", "contact_id")
        .annotate(first=Min("ordered_at"))
        .filter(first__gte=start)
    )
    first_orders = [(customer_key(r["account_id"], r["contact_id"]), r["first"]) for r in firsts]
    conversions += first_orders
    rows = [
        {
            "from": str(LifecycleStage(a).label) if a in LifecycleStage.values else a,
            "to": str(LifecycleStage(b).label) if b in LifecycleStage.values else b,
            "customers": len(days),
            "median_days": _median([d for d in days if d >= 0]),
        }
        for (a, b), days in sorted(moves.items(), key=lambda kv: -len(kv[1]))
    ]
    if first_orders:
        rows.append(
            {"from": _("Not yet bought"), "to": _("First order"), "customers": len(first_orders), "median_days": None}
        )
    return Journey(stages, rows, _touchpoints(user, conversions, start), len(conversions), month_start(since))


def _touchpoints(user: Any, conversions: list[tuple[int, Any]], start: Any) -> list[dict[str, Any]]:
    """For each interaction kind and channel: how many conversions it preceded (within TOUCH_DAYS)."""
    from datetime import timedelta as td

    from .orderdata import customer_key

    if not conversions:
        return []
    by_key: dict[int, list[Any]] = {}
    for key, at in conversions:
        by_key.setdefault(key, []).append(at)
    touches: dict[int, list[tuple[Any, str, str]]] = {}
    rows = (
        Interaction.objects.visible_to(user)
        .filter(occurred_at__gte=start - td(days=TOUCH_DAYS))
        .exclude(kind=Interaction.Kind.TASK)
        .filter(Q(account__isnull=False) | Q(contact__isnull=False))
        .values_list("account_id", "contact_id", "occurred_at", "kind", "channel")
    )
    for account_id, contact_id, at, kind, channel in rows.iterator(chunk_size=5000):
        key = customer_key(account_id, contact_id)
        if key in by_key:
            touches.setdefault(key, []).append((at, kind, channel))
    preceded: dict[tuple[str, str], int] = {}
    count: dict[tuple[str, str], int] = {}
    for key, moments in by_key.items():
        for moment in moments:
            seen: set[tuple[str, str]] = set()
            for at, kind, channel in touches.get(key, []):
                if moment - td(days=TOUCH_DAYS) <= at < moment:
                    for item in (("kind", kind), ("channel", channel or "other")):
                        count[item] = count.get(item, 0) + 1
                        seen.add(item)
            for item in seen:
                preceded[item] = preceded.get(item, 0) + 1
    total = len(conversions)
    kinds, channels = dict(Interaction.Kind.choices), dict(Interaction.Channel.choices)
    out = [
        {
            "dimension": dim,
            "label": str((kinds if dim == "kind" else channels).get(value, value)),
            "conversions": n,
            "share": round(n / total * 100, 1),
            "touches": count[(dim, value)],
        }
        for (dim, value), n in preceded.items()
    ]
    return sorted(out, key=lambda r: (r["dimension"] != "kind", -r["conversions"]))
