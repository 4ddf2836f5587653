"""Sales endpoints: pipelines and stages (read; administrators write), deals (CRUD, move, list filters), reports."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from guanxi.api.pagination import PageNumbers
from guanxi.api.schemas import InputSchema
from guanxi.core.api import list_endpoint_rows
from guanxi.core.customfields import active_fields, custom_masked
from guanxi.core.http import AuthedRequest
from guanxi.core.selectors import users_visible_to
from guanxi.customers import selectors as customer_selectors

from . import lists, selectors, services
from .models import Currency, Deal, DealProduct, LostReason, Pipeline, Stage

router = Router(tags=["sales"])


def require_perm(request: AuthedRequest, *perms: str) -> None:
    if not request.user.has_perms(perms):
        raise PermissionDenied


# --- schemas ------------------------------------------------------------------------------------


class StageOut(Schema):
    id: int
    name: str
    position: int
    probability: int
    kind: str
    required_fields: list[str]


class PipelineOut(Schema):
    id: int
    name: str
    position: int
    active: bool
    is_default: bool
    stages: list[StageOut]

    @staticmethod
    def resolve_stages(obj: Pipeline) -> list[Stage]:
        return sorted(obj.stages.all(), key=lambda s: (s.position, s.pk))


class PipelineIn(InputSchema):
    name: str
    active: bool = True
    is_default: bool = False


class PipelinePatch(InputSchema):
    name: str | None = None
    position: int | None = None
    active: bool | None = None
    is_default: bool | None = None


class StageIn(InputSchema):
    name: str
    probability: int = 0
    kind: str = "open"
    required_fields: list[str] = Field(default_factory=list, description="Deal fields: amount, expected_close, …")
    position: int | None = None


class StagePatch(InputSchema):
    name: str | None = None
    probability: int | None = None
    kind: str | None = None
    required_fields: list[str] | None = None
    position: int | None = None


class NamedOut(Schema):
    id: int
    name: str
    active: bool


class CurrencyOut(Schema):
    id: int
    code: str
    name: str
    rate_to_cny: Decimal | None
    active: bool


CUSTOM_DOC = "Custom-field values by key (see GET /custom-fields?record_type=deal)."
CUSTOM_IN_DOC = 'Custom-field values by key; on PATCH only the given keys change, null or "" clears one.'
TAGS_IN_DOC = "Tag names; missing tags are created. On PATCH the list replaces the deal's tags."


def _custom_out(obj: Deal, context: dict[str, Any]) -> dict[str, Any]:
    """The deal's custom values for this reader; the field definitions are read once per request."""
    request = context["request"]
    fields = request.__dict__.get("_gx_deal_custom_fields")
    if fields is None:
        fields = request.__dict__["_gx_deal_custom_fields"] = active_fields("deal")
    return custom_masked(obj.custom, fields=fields, user=request.user)


class DealOut(Schema):
    id: int
    name: str
    pipeline_id: int
    stage_id: int
    stage: str
    status: str
    account_id: int | None
    contact_ids: list[int]
    lead_id: int | None
    amount: Decimal | None
    currency: str
    amount_cny: Decimal | None
    expected_close: date | None
    source: str
    lost_reason_id: int | None
    lost_note: str
    closed_at: datetime | None
    stage_entered_at: datetime
    last_activity_at: datetime
    position: float
    custom: dict[str, Any] = Field(description=CUSTOM_DOC)
    tags: list[str]
    owner_id: int | None
    team_id: int | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_stage(obj: Deal) -> str:
        return obj.stage.name

    @staticmethod
    def resolve_custom(obj: Deal, context: dict[str, Any]) -> dict[str, Any]:
        return _custom_out(obj, context)

    @staticmethod
    def resolve_tags(obj: Deal) -> list[str]:
        return [tag.name for tag in obj.tags.all()]

    @staticmethod
    def resolve_currency(obj: Deal) -> str:
        return obj.currency.code

    @staticmethod
    def resolve_contact_ids(obj: Deal) -> list[int]:
        return [c.pk for c in obj.contacts.all()]


class DealIn(InputSchema):
    name: str
    pipeline_id: int | None = None
    stage_id: int | None = None
    account_id: int | None = None
    contact_ids: list[int] = Field(default_factory=list)
    amount: Decimal | None = None
    currency: str = Field("CNY", description="ISO 4217 code of a currency set up with a rate.")
    expected_close: date | None = None
    source: str = ""
    owner_id: int | None = Field(None, description="Without one, the assignment rules pick the owner.")
    lost_reason_id: int | None = None
    custom: dict[str, Any] = Field(default_factory=dict, description=CUSTOM_IN_DOC)
    tags: list[str] = Field(default_factory=list, description=TAGS_IN_DOC)


class DealPatch(InputSchema):
    name: str | None = None
    account_id: int | None = None
    contact_ids: list[int] | None = None
    amount: Decimal | None = None
    currency: str | None = None
    expected_close: date | None = None
    source: str | None = None
    lost_note: str | None = None
    owner_id: int | None = None
    custom: dict[str, Any] | None = Field(default=None, description=CUSTOM_IN_DOC)
    tags: list[str] | None = Field(default=None, description=TAGS_IN_DOC)


class DealLineOut(Schema):
    id: int
    deal_id: int
    product_id: int
    sku: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    net_amount: Decimal
    tax_amount: Decimal
    gross_amount: Decimal

    @staticmethod
    def resolve_sku(obj: DealProduct) -> str:
        return obj.product.sku


class DealLineIn(InputSchema):
    product_id: int | None = Field(None, description="The product; or give its `sku`.")
    sku: str | None = None
    description: str | None = None
    quantity: Decimal = Decimal("1")
    unit_price: Decimal | None = Field(None, description="In the deal's currency; without it, the product's price.")
    discount_percent: Decimal | None = None
    tax_rate: Decimal | None = Field(None, description="A VAT rate in use; without it, the product's rate.")


class DealLinePatch(InputSchema):
    product_id: int | None = None
    description: str | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    discount_percent: Decimal | None = None
    tax_rate: Decimal | None = None


class DealMoveIn(InputSchema):
    stage_id: int
    above_id: int | None = Field(None, description="The deal the moved one goes below in its new column.")
    below_id: int | None = Field(None, description="The deal the moved one goes above in its new column.")
    lost_reason_id: int | None = Field(None, description="Required when moving to a lost stage.")
    lost_note: str | None = None


class DealFilters(Schema):
    """Documented here: `q` and `sort`. Every filter of the deal list page works too (`pipeline=1`, `stage=3`,
    `status=open`, `stale=yes`, `owner=me`, `expected_close_from=2027-01-01` …); a bad one is a 422 naming it."""

    q: str = ""
    sort: str = Field("", description="A column key, `-` first for descending: name, amount, expected_close …")


class FunnelStepOut(Schema):
    stage_id: int
    stage: str
    kind: str
    probability: int
    deals: int
    amount: Decimal
    reached: int
    conversion: float | None


class ForecastRowOut(Schema):
    month: date
    owner_id: int | None
    owner: str
    deals: int
    amount: Decimal
    weighted: Decimal


class LostReasonRowOut(Schema):
    reason_id: int | None
    reason: str
    deals: int
    amount: Decimal


class FiguresOut(Schema):
    id: int | None
    name: str
    won: int
    won_amount: Decimal
    lost: int
    lost_amount: Decimal
    win_rate: float | None
    open: int
    open_amount: Decimal
    weighted: Decimal


class WonLostOut(Schema):
    lost_by_reason: list[LostReasonRowOut]
    by_owner: list[FiguresOut]
    by_team: list[FiguresOut]


# --- pipelines ----------------------------------------------------------------------------------


@router.get("/pipelines", response=list[PipelineOut])
def pipelines_list(request: AuthedRequest) -> Any:
    require_perm(request, "sales.view_pipeline")
    return Pipeline.objects.prefetch_related("stages").order_by("position", "id")


@router.get("/pipelines/{pipeline_id}", response=PipelineOut)
def pipeline_detail(request: AuthedRequest, pipeline_id: int) -> Any:
    require_perm(request, "sales.view_pipeline")
    return get_object_or_404(Pipeline, pk=pipeline_id)


@router.post("/pipelines", response={201: PipelineOut})
def pipeline_create(request: AuthedRequest, body: PipelineIn) -> Any:
    require_perm(request, "sales.add_pipeline")
    return Status(201, services.pipeline_save(actor=request.user, **body.dict()))


@router.patch("/pipelines/{pipeline_id}", response=PipelineOut)
def pipeline_update(request: AuthedRequest, pipeline_id: int, body: PipelinePatch) -> Any:
    require_perm(request, "sales.change_pipeline")
    pipeline = get_object_or_404(Pipeline, pk=pipeline_id)
    return services.pipeline_save(actor=request.user, pipeline=pipeline, **body.dict(exclude_unset=True))


@router.post("/pipelines/{pipeline_id}/stages", response={201: StageOut})
def stage_create(request: AuthedRequest, pipeline_id: int, body: StageIn) -> Any:
    require_perm(request, "sales.add_stage")
    pipeline = get_object_or_404(Pipeline, pk=pipeline_id)
    data = body.dict(exclude_none=True)
    return Status(201, services.stage_save(actor=request.user, pipeline=pipeline, **data))


@router.patch("/pipelines/{pipeline_id}/stages/{stage_id}", response=StageOut)
def stage_update(request: AuthedRequest, pipeline_id: int, stage_id: int, body: StagePatch) -> Any:
    require_perm(request, "sales.change_stage")
    stage = get_object_or_404(Stage, pk=stage_id, pipeline_id=pipeline_id)
    data = body.dict(exclude_unset=True)
    return services.stage_save(actor=request.user, pipeline=stage.pipeline, stage=stage, **data)


@router.get("/lost-reasons", response=list[NamedOut])
def lost_reasons_list(request: AuthedRequest) -> Any:
    require_perm(request, "sales.view_lostreason")
    return LostReason.objects.order_by("position", "id")


@router.get("/currencies", response=list[CurrencyOut])
def currencies_list(request: AuthedRequest) -> Any:
    require_perm(request, "sales.view_currency")
    return Currency.objects.order_by("code")


# --- deals --------------------------------------------------------------------------------------


def _deal_rows(request: AuthedRequest, action: str = "view") -> Any:
    return (
        selectors.deals_visible_to(request.user, action)
        .select_related("stage", "currency")
        .prefetch_related("contacts", "tags")
    )


def _currency(code: str) -> Currency:
    currency = Currency.objects.filter(code=code.upper()).first()
    if currency is None:
        raise ValidationError({"currency": _("Unknown currency “%(code)s”.") % {"code": code}})
    return currency


def _references(request: AuthedRequest, data: dict[str, Any]) -> dict[str, Any]:
    """Turn the ids of a deal body into records the user may use, or a named error."""
    fields: dict[str, Any] = {}
    if "pipeline_id" in data:
        pipeline_id = data.pop("pipeline_id")
        if pipeline_id is not None:
            fields["pipeline"] = Pipeline.objects.filter(pk=pipeline_id, active=True).first()
            if fields["pipeline"] is None:
                raise ValidationError({"pipeline_id": _("Unknown pipeline.")})
    if "stage_id" in data:
        stage_id = data.pop("stage_id")
        if stage_id is not None:
            fields["stage"] = Stage.objects.filter(pk=stage_id).first()
            if fields["stage"] is None:
                raise ValidationError({"stage_id": _("Unknown stage.")})
            fields.setdefault("pipeline", fields["stage"].pipeline)
    if "account_id" in data:
        account_id = data.pop("account_id")
        fields["account"] = None
        if account_id is not None:
            fields["account"] = customer_selectors.accounts_visible_to(request.user).filter(pk=account_id).first()
            if fields["account"] is None:
                raise ValidationError({"account_id": _("Unknown account.")})
    if "currency" in data:
        code = data.pop("currency")
        if code is not None:
            fields["currency"] = _currency(code)
    for name, value in data.items():
        if name not in ("contact_ids", "owner_id", "lost_reason_id", "custom", "tags"):
            fields[name] = "" if value is None and name in ("source", "lost_note") else value
    return fields


def _contacts(request: AuthedRequest, ids: list[int] | None) -> list[Any] | None:
    if ids is None:
        return None
    contacts = list(customer_selectors.contacts_visible_to(request.user).filter(pk__in=ids))
    if len(contacts) != len(set(ids)):
        raise ValidationError({"contact_ids": _("Unknown contact.")})
    return contacts


def _owner(request: AuthedRequest, owner_id: int | None) -> Any:
    if owner_id is None:
        return None
    owner = users_visible_to(request.user).filter(pk=owner_id).first()
    if owner is None:
        raise ValidationError({"owner_id": _("Unknown user.")})
    return owner


def _lost_reason(reason_id: int | None) -> LostReason | None:
    if reason_id is None:
        return None
    reason = LostReason.objects.filter(pk=reason_id).first()
    if reason is None:
        raise ValidationError({"lost_reason_id": _("Unknown lost reason.")})
    return reason


@router.get("/deals", response=list[DealOut])
@paginate(PageNumbers)
def deals_list(request: AuthedRequest, filters: Query[DealFilters]) -> Any:
    require_perm(request, "sales.view_deal")
    return list_endpoint_rows(request, lists.DEALS).prefetch_related("contacts", "tags")


@router.get("/deals/{deal_id}", response=DealOut)
def deal_detail(request: AuthedRequest, deal_id: int) -> Any:
    require_perm(request, "sales.view_deal")
    return get_object_or_404(_deal_rows(request), pk=deal_id)


@router.post("/deals", response={201: DealOut})
def deal_create(request: AuthedRequest, body: DealIn) -> Any:
    require_perm(request, "sales.add_deal")
    data = body.dict()
    contacts = _contacts(request, data["contact_ids"])
    owner = _owner(request, data["owner_id"])
    reason = _lost_reason(data["lost_reason_id"])
    extras = {"custom": data.pop("custom"), "tags": data.pop("tags")}
    fields = _references(request, data)
    deal = services.deal_create(
        actor=request.user, owner=owner, contacts=contacts, lost_reason=reason, **extras, **fields
    )
    return Status(201, _deal_rows(request).get(pk=deal.pk))


@router.patch("/deals/{deal_id}", response=DealOut)
def deal_update(request: AuthedRequest, deal_id: int, body: DealPatch) -> Any:
    require_perm(request, "sales.change_deal")
    deal = get_object_or_404(selectors.deals_visible_to(request.user, "change"), pk=deal_id)
    data = body.dict(exclude_unset=True)
    contacts = _contacts(request, data.get("contact_ids"))
    owner = _owner(request, data.get("owner_id"))
    extras = {"custom": data.pop("custom", None), "tags": data.pop("tags", None)}
    fields = _references(request, data)
    services.deal_update(deal=deal, actor=request.user, contacts=contacts, owner=owner, **extras, **fields)
    return _deal_rows(request).get(pk=deal.pk)


@router.delete("/deals/{deal_id}", response={204: None})
def deal_delete(request: AuthedRequest, deal_id: int) -> Any:
    require_perm(request, "sales.delete_deal")
    deal = get_object_or_404(selectors.deals_visible_to(request.user, "delete"), pk=deal_id)
    services.deal_delete(deal=deal, actor=request.user)
    return Status(204, None)


@router.post("/deals/{deal_id}/move", response=DealOut)
def deal_move(request: AuthedRequest, deal_id: int, body: DealMoveIn) -> Any:
    """Move a deal to a stage of its pipeline; 422 names the required field or `lost_reason_id` when refused."""
    require_perm(request, "sales.change_deal")
    deal = get_object_or_404(selectors.deals_visible_to(request.user, "change"), pk=deal_id)
    stage = Stage.objects.filter(pk=body.stage_id).first()
    if stage is None:
        raise ValidationError({"stage_id": _("Unknown stage.")})
    visible = selectors.deals_visible_to(request.user)
    above = visible.filter(pk=body.above_id).first() if body.above_id else None
    below = visible.filter(pk=body.below_id).first() if body.below_id else None
    try:
        services.deal_move(
            deal=deal,
            stage=stage,
            actor=request.user,
            above=above,
            below=below,
            lost_reason=_lost_reason(body.lost_reason_id),
            lost_note=body.lost_note,
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "lost_reason" in exc.error_dict:
            exc.error_dict["lost_reason_id"] = exc.error_dict.pop("lost_reason")
        raise
    return _deal_rows(request).get(pk=deal.pk)


# --- deal product lines -------------------------------------------------------------------------


def _line_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {name: value for name, value in data.items() if value is not None}
    if "product_id" in values:
        values["product"] = values.pop("product_id")
    return values


def _deal_line(request: AuthedRequest, deal_id: int, line_id: int) -> DealProduct:
    deal = get_object_or_404(selectors.deals_visible_to(request.user, "change"), pk=deal_id)
    return get_object_or_404(DealProduct, pk=line_id, deal=deal)


@router.get("/deals/{deal_id}/lines", response=list[DealLineOut])
def deal_lines_list(request: AuthedRequest, deal_id: int) -> Any:
    """A deal's product lines; while it has lines, the deal's `amount` is their gross total."""
    require_perm(request, "sales.view_deal")
    deal = get_object_or_404(selectors.deals_visible_to(request.user), pk=deal_id)
    return selectors.deal_lines(deal=deal)


@router.post("/deals/{deal_id}/lines", response={201: DealLineOut})
def deal_line_create(request: AuthedRequest, deal_id: int, body: DealLineIn) -> Any:
    """Add a product line; 422 names the field (`product`, `quantity`, `unit_price`, `tax_rate` …)."""
    require_perm(request, "sales.change_deal", "sales.add_dealproduct")
    deal = get_object_or_404(selectors.deals_visible_to(request.user, "change"), pk=deal_id)
    values = _line_values(body.dict())
    if "product" not in values and not values.get("sku"):
        raise ValidationError({"product_id": _("Choose a product.")})
    line = services.deal_line_add(deal=deal, actor=request.user, **values)
    return Status(201, selectors.deal_lines(deal=deal).get(pk=line.pk))


@router.patch("/deals/{deal_id}/lines/{line_id}", response=DealLineOut)
def deal_line_update(request: AuthedRequest, deal_id: int, line_id: int, body: DealLinePatch) -> Any:
    require_perm(request, "sales.change_deal", "sales.change_dealproduct")
    line = _deal_line(request, deal_id, line_id)
    services.deal_line_update(line=line, actor=request.user, **_line_values(body.dict(exclude_unset=True)))
    return selectors.deal_lines(deal=line.deal).get(pk=line.pk)


@router.delete("/deals/{deal_id}/lines/{line_id}", response={204: None})
def deal_line_delete(request: AuthedRequest, deal_id: int, line_id: int) -> Any:
    require_perm(request, "sales.change_deal", "sales.change_dealproduct")
    services.deal_line_remove(line=_deal_line(request, deal_id, line_id), actor=request.user)
    return Status(204, None)


# --- reports ------------------------------------------------------------------------------------


class ReportFilters(Schema):
    pipeline_id: int | None = Field(None, description="Defaults to the default pipeline.")
    since: date | None = None
    until: date | None = None


def _report_pipeline(pipeline_id: int | None) -> Pipeline:
    if pipeline_id is None:
        return services.pipeline_default()
    return get_object_or_404(Pipeline, pk=pipeline_id)


@router.get("/reports/funnel", response=list[FunnelStepOut], tags=["sales reports"])
def report_funnel(request: AuthedRequest, filters: Query[ReportFilters]) -> Any:
    """Deals per stage now, how many reached each stage and the conversion from the previous one (your scope)."""
    require_perm(request, "sales.view_deal")
    pipeline = _report_pipeline(filters.pipeline_id)
    steps = selectors.funnel(user=request.user, pipeline=pipeline, since=filters.since, until=filters.until)
    return [
        {
            "stage_id": s.stage.pk,
            "stage": s.stage.name,
            "kind": s.stage.kind,
            "probability": s.stage.probability,
            "deals": s.count,
            "amount": s.amount,
            "reached": s.reached,
            "conversion": s.conversion,
        }
        for s in steps
    ]


class ForecastFilters(Schema):
    pipeline_id: int | None = None
    start: date | None = Field(None, description="First month (defaults to this month).")
    months: int = Field(6, ge=1, le=24)


@router.get("/reports/forecast", response=list[ForecastRowOut], tags=["sales reports"])
def report_forecast(request: AuthedRequest, filters: Query[ForecastFilters]) -> Any:
    """Open deals by expected-close month and owner: amount and amount weighted by stage probability (CNY)."""
    require_perm(request, "sales.view_deal")
    pipeline = get_object_or_404(Pipeline, pk=filters.pipeline_id) if filters.pipeline_id else None
    start = filters.start or timezone.localdate()
    return selectors.forecast(user=request.user, pipeline=pipeline, start=start, months=filters.months)


def _figures(rows: list[selectors.ClosedFigures]) -> list[dict[str, Any]]:
    return [
        {
            "id": f.key,
            "name": f.label,
            "won": f.won,
            "won_amount": f.won_amount,
            "lost": f.lost,
            "lost_amount": f.lost_amount,
            "win_rate": f.win_rate,
            "open": f.open,
            "open_amount": f.open_amount,
            "weighted": f.weighted,
        }
        for f in rows
    ]


@router.get("/reports/won-lost", response=WonLostOut, tags=["sales reports"])
def report_won_lost(request: AuthedRequest, filters: Query[ReportFilters]) -> Any:
    """Deals closed in the period: lost by reason, won/lost/open per owner and per team (your scope)."""
    require_perm(request, "sales.view_deal")
    pipeline = get_object_or_404(Pipeline, pk=filters.pipeline_id) if filters.pipeline_id else None
    figures = selectors.won_lost(user=request.user, pipeline=pipeline, since=filters.since, until=filters.until)
    return {
        "lost_by_reason": figures.lost_by_reason,
        "by_owner": _figures(figures.by_owner),
        "by_team": _figures(figures.by_team),
    }
