"""Analytics endpoints: KPI definitions and values, customer profiles, segments, scores, acquisition spend."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from guanxi.api.pagination import CappedPageNumbers, PageNumbers
from guanxi.api.schemas import InputSchema
from guanxi.core.http import AuthedRequest

from . import selectors, services
from .kpis import kpis, month_start
from .models import AcquisitionSpend, CustomerScore, Segment

router = Router(tags=["analytics"])


def require_perm(request: AuthedRequest, *perms: str) -> None:
    if not request.user.has_perms(perms):
        raise PermissionDenied


class KpiOut(Schema):
    code: str
    label: str
    unit: str
    kind: str
    dimensions: list[str]
    help: str


class KpiPoint(Schema):
    month: date
    value: float | None
    numerator: float
    denominator: float
    change_percent: float | None


class KpiValuesOut(Schema):
    kpi: KpiOut
    scope: str
    values: list[KpiPoint]


class KpiFilters(Schema):
    month: date | None = Field(None, description="Last month of the series (any day in it); this month by default.")
    months: int = Field(12, ge=1, le=36)
    scope: str = Field("", description='"mine" for the caller\'s own records; otherwise their full scope.')
    dimension: str = Field("", description="Filter by one dimension of the KPI (team, owner, channel, …).")
    value: str = Field("", description="The dimension's value: a team or user id, a channel code …")


class ScoreOut(Schema):
    id: int
    period: date
    account_id: int | None
    contact_id: int | None
    customer: str
    orders: int
    revenue: Decimal
    recency_days: int
    r_score: int
    f_score: int
    m_score: int
    segment: str
    expected_purchases: float | None
    probability_alive: float | None
    clv: Decimal | None
    churn_risk: float | None

    @staticmethod
    def resolve_customer(obj: CustomerScore) -> str:
        return str(obj.customer)


class ReasonOut(Schema):
    feature: str
    label: str
    weight: float
    value: float


class ProductOut(Schema):
    id: int
    sku: str
    name: str


class ProfileOut(Schema):
    kind: str
    id: int
    name: str
    lifecycle_stage: str
    score: ScoreOut | None
    average_order_value: Decimal | None
    churn_reasons: list[ReasonOut]
    suggested_products: list[ProductOut]


class SegmentOut(Schema):
    segment: str
    label: str
    customers: int


class ScoreFilters(Schema):
    segment: str | None = None
    list: str | None = Field(None, description='"high" (by predicted value) or "risk" (churn risk ≥ 0.5).')


class WidgetOut(Schema):
    widget: str
    header: list[str]
    rows: list[list[Any]]
    note: str = Field("", description='Why the widget has no rows under the filter ("not available by team").')


class FilterOut(Schema):
    dimension: str
    value: str
    label: str


class DashboardOut(Schema):
    role: str
    month: date
    filter: FilterOut | None
    dimensions: list[str] = Field(..., description="The dimensions this dashboard can be filtered by.")
    widgets: list[WidgetOut]


class DashboardFilters(Schema):
    month: date | None = None
    dimension: str = Field("", description="Filter every widget by one dimension (team, owner, channel, …).")
    value: str = Field("", description="The dimension's value: a team or user id, a channel code …")


class SpendOut(Schema):
    id: int
    channel: str
    month: date
    amount: Decimal
    note: str


class SpendIn(InputSchema):
    channel: str
    month: str = Field(..., description="YYYY-MM")
    amount: Decimal
    note: str = ""


def _kpi_out(code: str) -> dict[str, Any]:
    item = kpis()[code]
    return {
        "code": code,
        "label": str(item.label),
        "unit": item.unit,
        "kind": item.kind,
        "dimensions": list(item.dimensions),
        "help": str(item.help),
    }


@router.get("/analytics/kpis", response=list[KpiOut])
def kpi_list(request: AuthedRequest) -> Any:
    """The KPIs registered (built-in and other apps'), as far as the caller may read their records."""
    require_perm(request, "analytics.view_kpivalue")
    return [_kpi_out(code) for code in selectors.kpi_codes_for(request.user)]


@router.get("/analytics/kpis/{code}", response=KpiValuesOut)
def kpi_values(request: AuthedRequest, code: str, filters: Query[KpiFilters]) -> Any:
    """One KPI month by month: the same numbers as the dashboard and its CSV export."""
    require_perm(request, "analytics.view_kpivalue")
    if code not in selectors.kpi_codes_for(request.user):
        raise Http404
    month = month_start(filters.month or timezone.localdate())
    scope = "mine" if filters.scope == "mine" else ""
    if scope and (filters.dimension or filters.value):
        raise ValidationError({"dimension": _("“My own” shows your own records; it cannot be filtered further.")})
    item = kpis()[code]
    if filters.dimension in selectors.DIMENSION_LABELS and filters.dimension not in item.dimensions:
        raise ValidationError({"dimension": selectors.not_available(filters.dimension)})
    where = selectors.slice_for(user=request.user, codes=[code], dimension=filters.dimension, value=filters.value)
    months = selectors.months_ending(month, filters.months)
    series = selectors.kpi_series(user=request.user, code=code, months=months, scope=scope, where=where)
    return {
        "kpi": _kpi_out(code),
        "scope": scope,
        "values": [
            {
                "month": f.month,
                "value": f.value,
                "numerator": f.numerator,
                "denominator": f.denominator,
                "change_percent": f.change,
            }
            for f in series
        ],
    }


@router.get("/analytics/dashboards/{role}", response=DashboardOut)
def dashboard(request: AuthedRequest, role: str, filters: Query[DashboardFilters]) -> Any:
    """Every widget of a role's dashboard (executive, sales, service, marketing, mine) as tables: the numbers the page
    draws and its CSV and PDF exports print, scoped to the caller, optionally filtered by one dimension."""
    require_perm(request, "analytics.view_kpivalue")
    if role not in selectors.ROLE_KPIS:
        raise Http404
    user = request.user
    where = selectors.dashboard_slice(user=user, role=role, dimension=filters.dimension, value=filters.value)
    month = month_start(filters.month or timezone.localdate())
    board = selectors.dashboard(user=user, role=role, month=month, where=where)
    widgets = []
    for widget in selectors.WIDGETS:
        header, rows = selectors.widget_table(board, widget)
        widgets.append({"widget": widget, "header": header, "rows": rows, "note": board.note(widget)})
    return {
        "role": role,
        "month": board.month,
        "filter": {"dimension": where.dimension, "value": where.value, "label": where.label} if where else None,
        "dimensions": selectors.dashboard_dimensions(user, role),
        "widgets": widgets,
    }


@router.get("/analytics/profiles/{kind}/{customer_id}", response=ProfileOut)
def profile(request: AuthedRequest, kind: str, customer_id: int) -> Any:
    """客户画像 of an account or contact the caller may see."""
    require_perm(request, "analytics.view_customerscore")
    if kind not in ("account", "contact"):
        raise Http404
    customer = selectors.customer_visible(user=request.user, kind=kind, pk=customer_id)
    if customer is None:
        raise Http404
    score = selectors.score_for(user=request.user, kind=kind, pk=customer_id)
    return {
        "kind": kind,
        "id": customer.pk,
        "name": str(customer),
        "lifecycle_stage": customer.lifecycle_stage,
        "score": score,
        "average_order_value": (score.revenue / score.orders).quantize(Decimal("0.01"))
        if score and score.orders
        else None,
        "churn_reasons": selectors.churn_reasons(score) if score else [],
        "suggested_products": selectors.products_by_id(score.recommended[:10]) if score else [],
    }


@router.get("/analytics/segments", response=list[SegmentOut])
def segments(request: AuthedRequest) -> Any:
    """Customers per RFM segment in the latest scoring (only customers the caller may see)."""
    require_perm(request, "analytics.view_customerscore")
    period = selectors.latest_period()
    return selectors.segment_counts(request.user, period) if period else []


@router.get("/analytics/scores", response=list[ScoreOut])
@paginate(CappedPageNumbers)
def scores(request: AuthedRequest, filters: Query[ScoreFilters]) -> Any:
    """Latest scores of the customers the caller may see, by predicted value, churn risk or segment. The total
    stops at 10,000 (see `count_capped`)."""
    require_perm(request, "analytics.view_customerscore")
    period = selectors.latest_period()
    if period is None:
        return CustomerScore.objects.none()
    if filters.list == "risk":
        rows = selectors.at_risk(request.user, period)
    elif filters.list == "high":
        rows = selectors.high_value(request.user, period)
    else:
        rows = selectors.scores_visible_to(request.user).filter(period=period).order_by("-revenue", "id")
    if filters.segment:
        if filters.segment not in Segment.values:
            raise ValidationError({"segment": _("Unknown segment.")})
        rows = rows.filter(segment=filters.segment)
    return rows


@router.get("/analytics/acquisition-spend", response=list[SpendOut])
@paginate(PageNumbers)
def spend_list(request: AuthedRequest) -> Any:
    require_perm(request, "analytics.view_acquisitionspend")
    return AcquisitionSpend.objects.all()


@router.post("/analytics/acquisition-spend", response={201: SpendOut})
def spend_set(request: AuthedRequest, body: SpendIn) -> Any:
    """Enter (or replace) a channel's spend for a month."""
    require_perm(request, "analytics.add_acquisitionspend")
    spend = services.acquisition_spend_set(actor=request.user, **body.dict())
    return Status(201, get_object_or_404(AcquisitionSpend, pk=spend.pk))
