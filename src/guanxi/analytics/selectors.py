"""Analytics reads, always scoped to the user: KPI figures, drill-down records, customer profiles, lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Q, QuerySet

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
    "sales": ["revenue", "orders", "aov", "deals_won_rate", "interaction_frequency", "repurchase_rate"],
    "mine": ["revenue", "orders", "aov", "deals_won_rate", "interaction_frequency"],
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


@dataclass
class Figure:
    kpi: Kpi
    month: date
    value: float | None
    previous: float | None
    numerator: float
    denominator: float

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


def kpi_series(*, user: Any, code: str, months: list[date], scope: str = "") -> list[Figure]:
    """One KPI month by month as this user may see it (company-wide, their teams', or their own)."""
    item = kpis()[code]
    dims = dimensions_for(user, scope)
    if not item.dimensions:
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


def drill_records(*, user: Any, code: str, month: date, scope: str = "") -> QuerySet[Any]:
    """The records behind a KPI figure, scoped by visible_to (so a rep sees only theirs)."""
    item = kpis()[code]
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
    accounts = Account.objects.visible_to(user).values("pk")
    contacts = Contact.objects.visible_to(user).values("pk")
    return CustomerScore.objects.filter(Q(account__in=accounts) | Q(contact__in=contacts)).select_related(
        "account", "contact"
    )


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


def segment_counts(user: Any, period: date) -> list[dict[str, Any]]:
    rows = {s: 0 for s in Segment.values}
    for seg in scores_visible_to(user).filter(period=period).values_list("segment", flat=True):
        rows[seg] += 1
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
