"""Pages of the orders part of sales: products, price lists, tax rates, quotes (print and PDF), orders."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.forms import apply_service_errors
from guanxi.core.http import AuthedRequest
from guanxi.core.views import list_page, staff_perm
from guanxi.customers import selectors as customer_selectors

from . import order_lists as lists
from . import order_selectors as selectors
from . import order_services as services
from .models import DealProduct, Order, PriceListItem, Product, Quote, TaxRate
from .order_forms import (
    LINE_ROWS,
    OrderForm,
    OrderSettingsForm,
    PriceListForm,
    PriceListPriceForm,
    ProductForm,
    QuoteForm,
    TaxRateForm,
    lines_from_post,
    tax_rate_choices,
)
from .quote_pdf import quote_pdf

# --- products ---------------------------------------------------------------------------------------------


@staff_perm("sales.view_product")
def product_list(request: AuthedRequest) -> HttpResponse:
    return list_page(request, lists.PRODUCTS, "sales/product_list.html")


@staff_perm("sales.add_product")
def product_create(request: AuthedRequest) -> HttpResponse:
    form = ProductForm(request.POST or None, initial={"tax_rate": "13", "currency": _cny()})
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Product %(name)s created.") % {"name": product})
            return redirect("product-list")
    return render(request, "core/form.html", {"form": form, "title": _("New product"), "back": "product-list"})


def _cny() -> Any:
    return selectors.currencies_usable().filter(code="CNY").first()


@staff_perm("sales.change_product")
def product_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=pk)
    initial = {name: getattr(product, name) for name in ("sku", "name", "unit", "price", "currency", "description")}
    initial["tax_rate"] = f"{product.tax_rate.normalize():f}"
    form = ProductForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.product_update(product=product, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("product-list")
    context = {"form": form, "product": product}
    return render(request, "sales/product_form.html", context)


@require_POST
@staff_perm("sales.change_product")
def product_active(request: AuthedRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=pk)
    active = request.POST.get("active") == "1"
    services.product_set_active(product=product, active=active, actor=request.user)
    if active:
        messages.success(request, _("%(name)s is sold again.") % {"name": product})
    else:
        messages.success(
            request, _("%(name)s is deactivated: it is no longer offered on new quotes and orders.") % {"name": product}
        )
    return redirect("product-list")


# --- price lists ------------------------------------------------------------------------------------------


@staff_perm("sales.view_pricelist")
def price_list_list(request: AuthedRequest) -> HttpResponse:
    return render(request, "sales/price_list_list.html", {"price_lists": selectors.price_lists_all()})


@staff_perm("sales.add_pricelist")
def price_list_create(request: AuthedRequest) -> HttpResponse:
    form = PriceListForm(request.POST or None, initial={"currency": _cny(), "active": True})
    if request.method == "POST" and form.is_valid():
        try:
            price_list = services.price_list_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect("price-list-detail", price_list.pk)
    return render(request, "core/form.html", {"form": form, "title": _("New price list"), "back": "price-list-list"})


@staff_perm("sales.view_pricelist")
def price_list_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    price_list = get_object_or_404(selectors.price_lists_all(), pk=pk)
    can_change = request.user.has_perm("sales.change_pricelist")
    price_form = PriceListPriceForm(request.POST or None) if can_change else None
    edit_form = None
    if can_change:
        initial = {n: getattr(price_list, n) for n in ("name", "currency", "valid_from", "valid_to", "active")}
        edit_form = PriceListForm(initial=initial)
        edit_form.fields.pop("currency")
    if request.method == "POST":
        if not can_change:
            return HttpResponse(status=403)
        if request.POST.get("form") == "list":
            edit_form = PriceListForm(request.POST)
            edit_form.fields.pop("currency")
            if edit_form.is_valid():
                try:
                    services.price_list_update(price_list=price_list, actor=request.user, **edit_form.cleaned_data)
                except ValidationError as exc:
                    apply_service_errors(edit_form, exc)
                else:
                    messages.success(request, _("Changes saved."))
                    return redirect("price-list-detail", price_list.pk)
        elif price_form is not None and price_form.is_valid():
            try:
                services.price_list_price_set(
                    price_list=price_list,
                    product=price_form.cleaned_data["product"],
                    price=price_form.cleaned_data["price"],
                    actor=request.user,
                )
            except ValidationError as exc:
                apply_service_errors(price_form, exc)
            else:
                messages.success(request, _("Price saved."))
                return redirect("price-list-detail", price_list.pk)
    items = PriceListItem.objects.filter(price_list=price_list).select_related("product").order_by("product__name")
    context = {"price_list": price_list, "items": items, "price_form": price_form, "edit_form": edit_form}
    return render(request, "sales/price_list_detail.html", context)


# --- tax rates and the lifecycle policy -------------------------------------------------------------------


@staff_perm("sales.change_taxrate")
def tax_rate_list(request: AuthedRequest) -> HttpResponse:
    form = TaxRateForm(request.POST or None)
    if request.method == "POST":
        toggle = request.POST.get("toggle", "")
        if toggle.isdigit():
            rate = get_object_or_404(TaxRate, pk=int(toggle))
            services.tax_rate_set_active(tax_rate=rate, active=not rate.active, actor=request.user)
            messages.success(request, _("Changes saved."))
            return redirect("tax-rate-list")
        if form.is_valid():
            try:
                services.tax_rate_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Tax rate added."))
                return redirect("tax-rate-list")
    return render(request, "sales/tax_rate_list.html", {"rates": selectors.tax_rates_all(), "form": form})


@staff_perm("sales.change_ordersettings")
def order_settings(request: AuthedRequest) -> HttpResponse:
    row = services.order_settings()
    initial = {"loyal_orders": row.loyal_orders, "loyal_days": row.loyal_days, "churn_days": row.churn_days}
    form = OrderSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.order_settings_set(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("order-settings")
    title = _("Customer lifecycle from orders")
    return render(request, "core/form.html", {"form": form, "title": title, "back": "order-list"})


# --- the line editor shared by quotes and orders ----------------------------------------------------------


def _catalogue() -> dict[str, Any]:
    """What the line editor prefills from: each active product's price, currency and tax rate, and price lists."""
    products = {
        str(p.pk): {"price": str(p.price), "currency": p.currency_id, "tax": f"{p.tax_rate.normalize():f}"}
        for p in Product.objects.filter(active=True).only("pk", "price", "currency_id", "tax_rate")
    }
    lists: dict[str, dict[str, str]] = {}
    for item in PriceListItem.objects.filter(price_list__active=True).only("price_list_id", "product_id", "price"):
        lists.setdefault(str(item.price_list_id), {})[str(item.product_id)] = str(item.price)
    return {"products": products, "lists": lists}


def _line_errors(exc: ValidationError, indexes: list[int]) -> tuple[dict[int, list[str]], ValidationError | None]:
    """Split a service refusal into messages per line row and the rest (for the form)."""
    per_row: dict[int, list[str]] = {}
    rest: dict[str, list[str]] = {}
    for key, msgs in exc.message_dict.items():
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(indexes):
            per_row.setdefault(indexes[int(parts[1])], []).extend(msgs)
        elif key == "lines":
            rest.setdefault("__all__", []).extend(msgs)
        else:
            rest[key] = msgs
    return per_row, (ValidationError(rest) if rest else None)


def _editor_context(rows: list[dict[str, str]], row_errors: dict[int, list[str]]) -> dict[str, Any]:
    products = Product.objects.filter(active=True).select_related("currency").order_by("name")
    filled = max([i + 1 for i, r in enumerate(rows) if r.get("product")] + [2])
    return {
        "line_rows": [{"index": i, "values": rows[i], "errors": row_errors.get(i, [])} for i in range(LINE_ROWS)],
        "line_products": products,
        "line_tax_rates": tax_rate_choices(),
        "line_shown": min(LINE_ROWS, filled),
        "catalogue": _catalogue(),
    }


def _blank_rows() -> list[dict[str, str]]:
    return [{} for _i in range(LINE_ROWS)]


def _rows_of(lines: Any) -> list[dict[str, str]]:
    """Priced lines (a quote's, or a deal's to start a quote from) as the editor's rows, blanks after them."""
    rows: list[dict[str, str]] = [
        {
            "product": str(line.product_id),
            "quantity": f"{line.quantity.normalize():f}",
            "unit_price": str(line.unit_price),
            "discount_percent": f"{line.discount_percent.normalize():f}",
            "tax_rate": f"{line.tax_rate.normalize():f}",
        }
        for line in lines
    ]
    return (rows + _blank_rows())[:LINE_ROWS]


def _customer_scope(request: AuthedRequest) -> dict[str, Any]:
    return {
        "accounts": customer_selectors.accounts_visible_to(request.user),
        "contacts": customer_selectors.contacts_visible_to(request.user),
    }


# --- quotes -----------------------------------------------------------------------------------------------


@staff_perm("sales.view_quote")
def quote_list(request: AuthedRequest) -> HttpResponse:
    return list_page(request, lists.QUOTES, "sales/quote_list.html")


def _quote_initial(request: AuthedRequest) -> dict[str, Any]:
    from .models import Deal

    initial: dict[str, Any] = {"currency": _cny(), "language": (request.LANGUAGE_CODE or "zh-hans")[:7]}
    if initial["language"] not in Quote.Language.values:
        initial["language"] = Quote.Language.ZH_HANS
    for name in ("account", "contact", "deal"):
        value = request.GET.get(name, "")
        if value.isdigit():
            initial[name] = int(value)
    if "deal" in initial:
        deal = Deal.objects.visible_to(request.user).filter(pk=initial["deal"]).first()
        if deal is None:
            initial.pop("deal")
        else:
            initial.setdefault("account", deal.account_id)
            initial["currency"] = deal.currency
    return initial


@staff_perm("sales.add_quote")
def quote_create(request: AuthedRequest) -> HttpResponse:
    from .models import Deal

    initial = _quote_initial(request)
    form = QuoteForm(request.POST or None, initial=initial, **_customer_scope(request))
    rows = _blank_rows()
    if initial.get("deal"):  # a quote from a deal starts with the deal's product lines
        rows = _rows_of(DealProduct.objects.filter(deal_id=initial["deal"]).order_by("id"))
    row_errors: dict[int, list[str]] = {}
    if request.method == "POST" and form.is_valid():
        lines, indexes, rows = lines_from_post(request.POST)
        data = dict(form.cleaned_data)
        deal = None
        if initial.get("deal"):
            deal = Deal.objects.visible_to(request.user).filter(pk=initial["deal"]).first()
        try:
            quote = services.quote_create(actor=request.user, lines=lines, deal=deal, **data)
        except ValidationError as exc:
            row_errors, rest = _line_errors(exc, indexes)
            if rest is not None:
                apply_service_errors(form, rest)
            if row_errors and not form.errors:
                form.add_error(None, _("Some lines need fixing: see below."))
        else:
            messages.success(request, _("Quote %(number)s created.") % {"number": quote.number})
            return redirect("quote-detail", quote.pk)
    elif request.method == "POST":
        _l, _i, rows = lines_from_post(request.POST)
    context = {
        "form": form,
        "title": _("New quote"),
        "back": reverse("quote-list"),
        **_editor_context(rows, row_errors),
    }
    return render(request, "sales/document_form.html", context)


@staff_perm("sales.change_quote")
def quote_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    quote = get_object_or_404(selectors.quotes_visible_to(request.user, "change"), pk=pk)
    if quote.status != Quote.Status.DRAFT:
        messages.error(request, _("Only a draft quote can be changed."))
        return redirect("quote-detail", quote.pk)
    initial = {n: getattr(quote, n) for n in ("account", "contact", "currency", "language", "valid_until", "notes")}
    form = QuoteForm(request.POST or None, initial=initial, **_customer_scope(request))
    for name in ("account", "contact", "currency"):
        form.fields[name].disabled = True
    rows = _rows_of(quote.lines.order_by("position", "id"))
    row_errors: dict[int, list[str]] = {}
    if request.method == "POST" and form.is_valid():
        lines, indexes, rows = lines_from_post(request.POST)
        data = {n: form.cleaned_data[n] for n in ("language", "valid_until", "notes")}
        try:
            services.quote_update(
                quote=quote, actor=request.user, lines=lines, price_list=form.cleaned_data["price_list"], **data
            )
        except ValidationError as exc:
            row_errors, rest = _line_errors(exc, indexes)
            if rest is not None:
                apply_service_errors(form, rest)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("quote-detail", quote.pk)
    back = reverse("quote-detail", args=[quote.pk])
    context = {"form": form, "title": quote.number, "back": back, **_editor_context(rows, row_errors)}
    return render(request, "sales/document_form.html", context)


@staff_perm("sales.view_quote")
def quote_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    quote = get_object_or_404(selectors.quotes_visible_to(request.user), pk=pk)
    context = {
        "quote": quote,
        "lines": quote.lines.select_related("product").order_by("position", "id"),
        "orders": quote.orders.order_by("id"),
        "can_change": request.user.has_perm("sales.change_quote")
        and selectors.quotes_visible_to(request.user, "change").filter(pk=quote.pk).exists(),
        "can_accept": request.user.has_perm("sales.add_order"),
    }
    return render(request, "sales/quote_detail.html", context)


@staff_perm("sales.view_quote")
def quote_print(request: AuthedRequest, pk: int) -> HttpResponse:
    from django.utils import translation

    quote = get_object_or_404(selectors.quotes_visible_to(request.user), pk=pk)
    lines = quote.lines.select_related("product").order_by("position", "id")
    with translation.override(quote.language):
        return render(request, "sales/quote_print.html", {"quote": quote, "lines": lines})


@staff_perm("sales.view_quote")
def quote_pdf_download(request: AuthedRequest, pk: int) -> HttpResponse:
    quote = get_object_or_404(selectors.quotes_visible_to(request.user), pk=pk)
    lines = list(quote.lines.select_related("product").order_by("position", "id"))
    response = HttpResponse(quote_pdf(quote, lines=lines), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote.number}.pdf"'
    return response


@require_POST
@staff_perm("sales.change_quote")
def quote_status(request: AuthedRequest, pk: int) -> HttpResponse:
    quote = get_object_or_404(selectors.quotes_visible_to(request.user, "change"), pk=pk)
    try:
        services.quote_set_status(quote=quote, status=request.POST.get("status", ""), actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Quote %(number)s is now %(status)s.")
            % {"number": quote.number, "status": Quote.Status(request.POST["status"]).label},
        )
    return redirect("quote-detail", quote.pk)


@require_POST
@staff_perm("sales.add_order")
def quote_accept(request: AuthedRequest, pk: int) -> HttpResponse:
    quote = get_object_or_404(selectors.quotes_visible_to(request.user, "change"), pk=pk)
    try:
        order = services.quote_accept(quote=quote, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("quote-detail", quote.pk)
    messages.success(request, _("Quote accepted: order %(number)s created.") % {"number": order.number})
    return redirect("order-detail", order.pk)


# --- orders -----------------------------------------------------------------------------------------------


@staff_perm("sales.view_order")
def order_list(request: AuthedRequest) -> HttpResponse:
    return list_page(request, lists.ORDERS, "sales/order_list.html")


@staff_perm("sales.add_order")
def order_create(request: AuthedRequest) -> HttpResponse:
    initial = _quote_initial(request)
    initial["ordered_at"] = timezone.localtime().replace(second=0, microsecond=0)
    form = OrderForm(request.POST or None, initial=initial, **_customer_scope(request))
    rows = _blank_rows()
    row_errors: dict[int, list[str]] = {}
    if request.method == "POST" and form.is_valid():
        lines, indexes, rows = lines_from_post(request.POST)
        try:
            order = services.order_create(actor=request.user, lines=lines, **form.cleaned_data)
        except ValidationError as exc:
            row_errors, rest = _line_errors(exc, indexes)
            if rest is not None:
                apply_service_errors(form, rest)
            if row_errors and not form.errors:
                form.add_error(None, _("Some lines need fixing: see below."))
        else:
            messages.success(request, _("Order %(number)s created.") % {"number": order.number})
            return redirect("order-detail", order.pk)
    elif request.method == "POST":
        _l, _i, rows = lines_from_post(request.POST)
    context = {
        "form": form,
        "title": _("New order"),
        "back": reverse("order-list"),
        **_editor_context(rows, row_errors),
    }
    return render(request, "sales/document_form.html", context)


@staff_perm("sales.view_order")
def order_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(selectors.orders_visible_to(request.user), pk=pk)
    can_change = request.user.has_perm("sales.change_order") and (
        selectors.orders_visible_to(request.user, "change").filter(pk=order.pk).exists()
    )
    context = {
        "order": order,
        "lines": order.lines.select_related("product").order_by("id"),
        "next_statuses": [Order.Status(s) for s in services.ORDER_TRANSITIONS[order.status]] if can_change else [],
        "history": order_history(order),
    }
    return render(request, "sales/order_detail.html", context)


def order_history(order: Order) -> Any:
    from guanxi.core.models import Event

    return Event.objects.for_object(order).select_related("actor", "content_type").order_by("-id")[:50]


@require_POST
@staff_perm("sales.change_order")
def order_status(request: AuthedRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(selectors.orders_visible_to(request.user, "change"), pk=pk)
    status = request.POST.get("status", "")
    try:
        services.order_set_status(order=order, status=status, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Order %(number)s is now %(status)s.") % {"number": order.number, "status": Order.Status(status).label},
        )
    return redirect("order-detail", order.pk)
