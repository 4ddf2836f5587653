"""Endpoints of the orders part of sales: products, price lists, tax rates, quotes (PDF), orders, purchase figures."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from guanxi.api.errors import error_body
from guanxi.api.pagination import PageNumbers
from guanxi.api.schemas import InputSchema
from guanxi.core.api import list_endpoint_rows
from guanxi.core.http import AuthedRequest
from guanxi.customers import selectors as customer_selectors

from . import order_lists as lists
from . import order_selectors as selectors
from . import order_services as services
from .models import Currency, Order, PriceList, Product, Quote
from .quote_pdf import quote_pdf

router = Router(tags=["sales: products, quotes, orders"])


def require_perm(request: AuthedRequest, *perms: str) -> None:
    if not request.user.has_perms(perms):
        raise PermissionDenied


def _currency(code: str, field: str = "currency") -> Currency:
    currency = Currency.objects.filter(code=(code or "").strip().upper()).first()
    if currency is None:
        raise ValidationError({field: _("Unknown currency “%(code)s”.") % {"code": code}})
    return currency


def _customer(request: AuthedRequest, account_id: int | None, contact_id: int | None) -> dict[str, Any]:
    """The account and contact named, each one the user may see, or a named error."""
    found: dict[str, Any] = {"account": None, "contact": None}
    if account_id is not None:
        found["account"] = customer_selectors.accounts_visible_to(request.user).filter(pk=account_id).first()
        if found["account"] is None:
            raise ValidationError({"account_id": _("Unknown account.")})
    if contact_id is not None:
        found["contact"] = customer_selectors.contacts_visible_to(request.user).filter(pk=contact_id).first()
        if found["contact"] is None:
            raise ValidationError({"contact_id": _("Unknown contact.")})
    return found


# --- schemas ----------------------------------------------------------------------------------------------


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    unit: str
    price: Decimal
    currency: str
    tax_rate: Decimal
    active: bool
    description: str
    updated_at: datetime

    @staticmethod
    def resolve_currency(obj: Product) -> str:
        return obj.currency.code


class ProductIn(InputSchema):
    sku: str
    name: str
    unit: str = ""
    price: Decimal
    currency: str = "CNY"
    tax_rate: Decimal = Decimal("13")
    description: str = ""


class ProductPatch(InputSchema):
    sku: str | None = None
    name: str | None = None
    unit: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    tax_rate: Decimal | None = None
    description: str | None = None
    active: bool | None = None


class PriceListOut(Schema):
    id: int
    name: str
    currency: str
    active: bool
    valid_from: date | None
    valid_to: date | None
    prices: dict[str, Decimal] = Field(description="SKU → price in the list's currency")

    @staticmethod
    def resolve_currency(obj: PriceList) -> str:
        return obj.currency.code

    @staticmethod
    def resolve_prices(obj: PriceList) -> dict[str, Decimal]:
        return {item.product.sku: item.price for item in obj.items.select_related("product")}


class PriceListIn(InputSchema):
    name: str
    currency: str = "CNY"
    active: bool = True
    valid_from: date | None = None
    valid_to: date | None = None


class PriceListPatch(InputSchema):
    name: str | None = None
    active: bool | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class PriceIn(InputSchema):
    price: Decimal | None = Field(description="null removes the product from the list")


class TaxRateOut(Schema):
    id: int
    rate: Decimal
    name: str
    active: bool


class LineIn(InputSchema):
    product_id: int | None = None
    sku: str | None = None
    description: str = ""
    quantity: Decimal = Decimal("1")
    unit_price: Decimal | None = Field(None, description="empty: the price list's price, else the product's")
    discount_percent: Decimal = Decimal("0")
    tax_rate: Decimal | None = Field(None, description="empty: the product's rate")


class LineOut(Schema):
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
    def resolve_sku(obj: Any) -> str:
        return obj.product.sku


class QuoteOut(Schema):
    id: int
    number: str
    status: str
    account_id: int | None
    contact_id: int | None
    deal_id: int | None
    currency: str
    language: str
    valid_until: date | None
    notes: str
    net_total: Decimal
    tax_total: Decimal
    gross_total: Decimal
    order_ids: list[int]
    lines: list[LineOut]
    owner_id: int | None
    created_at: datetime

    @staticmethod
    def resolve_currency(obj: Quote) -> str:
        return obj.currency.code

    @staticmethod
    def resolve_order_ids(obj: Quote) -> list[int]:
        return [o.pk for o in obj.orders.all()]

    @staticmethod
    def resolve_lines(obj: Quote) -> list[Any]:
        return list(obj.lines.select_related("product").order_by("position", "id"))


class QuoteIn(InputSchema):
    account_id: int | None = None
    contact_id: int | None = None
    deal_id: int | None = None
    currency: str = "CNY"
    price_list_id: int | None = None
    language: str = "zh-hans"
    valid_until: date | None = None
    notes: str = ""
    lines: list[LineIn] = Field(
        default_factory=list, description="Without lines, a quote for a deal starts with the deal's product lines."
    )


class QuotePatch(InputSchema):
    language: str | None = None
    valid_until: date | None = None
    notes: str | None = None
    price_list_id: int | None = None
    lines: list[LineIn] | None = None


class StatusIn(InputSchema):
    status: str


class OrderOut(Schema):
    id: int
    number: str
    source: str
    external_system: str
    external_id: str | None
    status: str
    account_id: int | None
    contact_id: int | None
    quote_id: int | None
    currency: str
    rate_to_cny: Decimal
    ordered_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    refunded_at: datetime | None
    net_total: Decimal
    tax_total: Decimal
    gross_total: Decimal
    notes: str
    lines: list[LineOut]
    owner_id: int | None

    @staticmethod
    def resolve_currency(obj: Order) -> str:
        return obj.currency.code

    @staticmethod
    def resolve_lines(obj: Order) -> list[Any]:
        return list(obj.lines.select_related("product").order_by("id"))


class OrderIn(InputSchema):
    external_id: str | None = Field(
        None, description="the order's ID in the sending system: re-sent orders are not doubled"
    )
    external_system: str = ""
    account_id: int | None = None
    contact_id: int | None = None
    currency: str = "CNY"
    status: str = "pending"
    ordered_at: datetime | None = None
    notes: str = ""
    lines: list[LineIn]


class ErrorOut(Schema):
    error: dict[str, Any]


class PurchaseFiguresOut(Schema):
    orders: int
    customers: int
    repeat_customers: int
    revenue_cny: Decimal
    average_order_value_cny: Decimal
    repurchase_rate: float


class PurchaseFilters(Schema):
    since: date | None = None
    until: date | None = None


def _lines(lines: list[LineIn]) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        data = line.dict()
        product_id = data.pop("product_id")
        data["product"] = product_id if product_id is not None else None
        if data["product"] is None:
            data.pop("product")
        if data.get("sku") is None:
            data.pop("sku", None)
        out.append({k: v for k, v in data.items() if v is not None})
    return out


# --- products, price lists, tax rates ---------------------------------------------------------------------


@router.get("/products", response=list[ProductOut])
@paginate(PageNumbers)
def products_list(request: AuthedRequest) -> Any:
    """The catalogue, with the product list's filters (`q`, `active`, `currency`, `tax_rate`, `sort`)."""
    return list_endpoint_rows(request, lists.PRODUCTS)


@router.get("/products/{product_id}", response=ProductOut)
def product_detail(request: AuthedRequest, product_id: int) -> Any:
    require_perm(request, "sales.view_product")
    return get_object_or_404(Product.objects.select_related("currency"), pk=product_id)


@router.post("/products", response={201: ProductOut})
def product_create(request: AuthedRequest, body: ProductIn) -> Any:
    require_perm(request, "sales.add_product")
    data = body.dict()
    data["currency"] = _currency(data["currency"])
    return Status(201, services.product_create(actor=request.user, **data))


@router.patch("/products/{product_id}", response=ProductOut)
def product_update(request: AuthedRequest, product_id: int, body: ProductPatch) -> Any:
    require_perm(request, "sales.change_product")
    product = get_object_or_404(Product, pk=product_id)
    data = body.dict(exclude_unset=True)
    active = data.pop("active", None)
    if "currency" in data:
        data["currency"] = _currency(data["currency"] or "")
    if data:
        product = services.product_update(product=product, actor=request.user, **data)
    if active is not None:
        product = services.product_set_active(product=product, active=active, actor=request.user)
    return product


@router.delete("/products/{product_id}", response={204: None})
def product_deactivate(request: AuthedRequest, product_id: int) -> Any:
    """Deactivate a product (it stays on the quotes and orders that have it)."""
    require_perm(request, "sales.change_product")
    services.product_set_active(product=get_object_or_404(Product, pk=product_id), active=False, actor=request.user)
    return Status(204, None)


@router.get("/price-lists", response=list[PriceListOut])
@paginate(PageNumbers)
def price_lists_list(request: AuthedRequest) -> Any:
    require_perm(request, "sales.view_pricelist")
    return selectors.price_lists_all()


@router.get("/price-lists/{price_list_id}", response=PriceListOut)
def price_list_detail(request: AuthedRequest, price_list_id: int) -> Any:
    require_perm(request, "sales.view_pricelist")
    return get_object_or_404(selectors.price_lists_all(), pk=price_list_id)


@router.post("/price-lists", response={201: PriceListOut})
def price_list_create(request: AuthedRequest, body: PriceListIn) -> Any:
    require_perm(request, "sales.add_pricelist")
    data = body.dict()
    data["currency"] = _currency(data["currency"])
    return Status(201, services.price_list_create(actor=request.user, **data))


@router.patch("/price-lists/{price_list_id}", response=PriceListOut)
def price_list_update(request: AuthedRequest, price_list_id: int, body: PriceListPatch) -> Any:
    require_perm(request, "sales.change_pricelist")
    price_list = get_object_or_404(PriceList, pk=price_list_id)
    return services.price_list_update(price_list=price_list, actor=request.user, **body.dict(exclude_unset=True))


@router.put("/price-lists/{price_list_id}/prices/{product_id}", response=PriceListOut)
def price_list_price_set(request: AuthedRequest, price_list_id: int, product_id: int, body: PriceIn) -> Any:
    require_perm(request, "sales.change_pricelist")
    price_list = get_object_or_404(PriceList, pk=price_list_id)
    product = get_object_or_404(Product, pk=product_id)
    services.price_list_price_set(price_list=price_list, product=product, price=body.price, actor=request.user)
    return price_list


@router.get("/tax-rates", response=list[TaxRateOut])
def tax_rates_list(request: AuthedRequest) -> Any:
    require_perm(request, "sales.view_taxrate")
    return list(selectors.tax_rates_all())


# --- quotes -----------------------------------------------------------------------------------------------


@router.get("/quotes", response=list[QuoteOut])
@paginate(PageNumbers)
def quotes_list(request: AuthedRequest) -> Any:
    """Quotes in scope, with the quote list's filters (`q`, `status`, `owner`, `team`, `created_from`, `sort`)."""
    return list_endpoint_rows(request, lists.QUOTES).prefetch_related("orders")


@router.get("/quotes/{quote_id}", response=QuoteOut)
def quote_detail(request: AuthedRequest, quote_id: int) -> Any:
    require_perm(request, "sales.view_quote")
    return get_object_or_404(selectors.quotes_visible_to(request.user), pk=quote_id)


@router.post("/quotes", response={201: QuoteOut})
def quote_create(request: AuthedRequest, body: QuoteIn) -> Any:
    from .models import Deal

    require_perm(request, "sales.add_quote")
    data = body.dict()
    customer = _customer(request, data.pop("account_id"), data.pop("contact_id"))
    deal_id, list_id = data.pop("deal_id"), data.pop("price_list_id")
    deal = None
    if deal_id is not None:
        deal = Deal.objects.visible_to(request.user).filter(pk=deal_id).first()
        if deal is None:
            raise ValidationError({"deal_id": _("Unknown deal.")})
    price_list = None
    if list_id is not None:
        price_list = PriceList.objects.filter(pk=list_id).first()
        if price_list is None:
            raise ValidationError({"price_list_id": _("Unknown price list.")})
    data["currency"] = _currency(data["currency"])
    data["lines"] = _lines(body.lines)
    quote = services.quote_create(actor=request.user, deal=deal, price_list=price_list, **customer, **data)
    return Status(201, quote)


@router.patch("/quotes/{quote_id}", response=QuoteOut)
def quote_update(request: AuthedRequest, quote_id: int, body: QuotePatch) -> Any:
    require_perm(request, "sales.change_quote")
    quote = get_object_or_404(selectors.quotes_visible_to(request.user, "change"), pk=quote_id)
    data = body.dict(exclude_unset=True)
    list_id = data.pop("price_list_id", None)
    price_list = PriceList.objects.filter(pk=list_id).first() if list_id is not None else None
    if "lines" in data:
        data["lines"] = _lines(body.lines or [])
    return services.quote_update(quote=quote, actor=request.user, price_list=price_list, **data)


@router.post("/quotes/{quote_id}/status", response=QuoteOut)
def quote_status(request: AuthedRequest, quote_id: int, body: StatusIn) -> Any:
    """Send (`sent`), reject (`rejected`) or expire (`expired`) a quote; accept with /accept."""
    require_perm(request, "sales.change_quote")
    quote = get_object_or_404(selectors.quotes_visible_to(request.user, "change"), pk=quote_id)
    return services.quote_set_status(quote=quote, status=body.status, actor=request.user)


@router.post("/quotes/{quote_id}/accept", response={201: OrderOut})
def quote_accept(request: AuthedRequest, quote_id: int) -> Any:
    """Accept a quote: the quote becomes accepted and its order is created (201); a second accept is refused (422)."""
    require_perm(request, "sales.change_quote", "sales.add_order")
    quote = get_object_or_404(selectors.quotes_visible_to(request.user, "change"), pk=quote_id)
    return Status(201, services.quote_accept(quote=quote, actor=request.user))


@router.get("/quotes/{quote_id}/pdf")
def quote_pdf_download(request: AuthedRequest, quote_id: int) -> HttpResponse:
    """The quote as a PDF in its language (application/pdf)."""
    require_perm(request, "sales.view_quote")
    quote = get_object_or_404(selectors.quotes_visible_to(request.user), pk=quote_id)
    lines = list(quote.lines.select_related("product").order_by("position", "id"))
    response = HttpResponse(quote_pdf(quote, lines=lines), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote.number}.pdf"'
    return response


# --- orders -----------------------------------------------------------------------------------------------


@router.get("/orders", response=list[OrderOut])
@paginate(PageNumbers)
def orders_list(request: AuthedRequest) -> Any:
    """Orders in scope, with the order list's filters (`q`, `status`, `source`, `ordered_from`, `sort` …)."""
    return list_endpoint_rows(request, lists.ORDERS).prefetch_related("lines__product")


@router.get("/orders/{order_id}", response=OrderOut)
def order_detail(request: AuthedRequest, order_id: int) -> Any:
    require_perm(request, "sales.view_order")
    return get_object_or_404(selectors.orders_visible_to(request.user), pk=order_id)


@router.post("/orders", response={200: OrderOut, 201: OrderOut, 409: ErrorOut})
def order_create(request: AuthedRequest, body: OrderIn) -> Any:
    """Create an order. With `external_id` it is idempotent: the same order sent again returns the stored one
    with 200 (not counted twice); a different body under the same external ID is refused with 409."""
    require_perm(request, "sales.add_order")
    data = body.dict()
    customer = _customer(request, data.pop("account_id"), data.pop("contact_id"))
    currency = _currency(data.pop("currency"))
    data.pop("lines")
    lines = _lines(body.lines)
    external_id = data.pop("external_id")
    if external_id is None:
        data.pop("external_system")
        order = services.order_create(actor=request.user, currency=currency, lines=lines, **customer, **data)
        return Status(201, order)
    try:
        order, created = services.order_receive(
            actor=request.user, external_id=external_id, currency=currency, lines=lines, **customer, **data
        )
    except services.OrderConflict as exc:
        fields = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        return Status(409, error_body("conflict", fields["external_id"][0], fields))
    return Status(201 if created else 200, order)


@router.post("/orders/{order_id}/status", response=OrderOut)
def order_status(request: AuthedRequest, order_id: int, body: StatusIn) -> Any:
    """Move an order: pending → paid → shipped → completed, or cancelled / refunded; each move stamps its date."""
    require_perm(request, "sales.change_order")
    order = get_object_or_404(selectors.orders_visible_to(request.user, "change"), pk=order_id)
    return services.order_set_status(order=order, status=body.status, actor=request.user)


@router.get("/purchase-figures", response=PurchaseFiguresOut)
def purchase_figures(request: AuthedRequest, filters: Query[PurchaseFilters]) -> Any:
    """Repurchase rate (复购率) and average order value (客单价) over the orders in scope, in CNY."""
    require_perm(request, "sales.view_order")
    return selectors.purchase_figures(user=request.user, since=filters.since, until=filters.until)
