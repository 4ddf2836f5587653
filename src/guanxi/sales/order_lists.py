"""The product, quote and order lists: columns, filters and default sort (core/listviews.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from guanxi.core.listviews import (
    Column,
    ListSpec,
    choice_filter,
    date_range_filter,
    list_spec,
    owner_filter,
    team_filter,
)

from . import order_selectors as selectors
from .models import Currency, Order, Quote

BADGE = "customers/cells/badge.html"
CUSTOMER = "sales/cells/customer.html"


def _currencies() -> list[tuple[str, str]]:
    return [(str(c.pk), c.code) for c in Currency.objects.order_by("code")]


def _customer_text(row: Any) -> str:
    return " · ".join(str(r) for r in (row.account, row.contact) if r is not None)


def _search_documents(rows: QuerySet[Any], q: str) -> QuerySet[Any]:
    """Number, external ID or customer name (part of it)."""
    q = " ".join(q.split())
    if not q:
        return rows
    match = Q(number__icontains=q) | Q(account__name__icontains=q) | Q(contact__full_name__icontains=q)
    if rows.model is Order:
        match |= Q(external_id__icontains=q)
    return rows.filter(match)


def _money(value: Any, row: Any) -> str:
    return f"{value} {row.currency.code}"


PRODUCTS = list_spec(
    ListSpec(
        name="products",
        label=_("Products"),
        permission="sales.view_product",
        url_name="product-list",
        rows=lambda viewer, q, archived: (
            selectors.products_all(q=q) if viewer.has_perm("sales.view_product") else selectors.products_all().none()
        ),
        columns=[
            Column("sku", _("SKU"), lambda p: p.sku, sort="sku", template="sales/cells/product.html", default=True),
            Column("name", _("Name"), lambda p: p.name, sort="name", default=True),
            Column("unit", _("Unit"), lambda p: p.unit, sort="unit", default=True),
            Column("price", _("Price"), lambda p: p.price, sort="price", default=True),
            Column("currency", _("Currency"), lambda p: p.currency.code, sort="currency__code", default=True),
            Column("tax_rate", _("Tax rate (%)"), lambda p: p.tax_rate, sort="tax_rate", default=True),
            Column("active", _("Active"), lambda p: p.active, sort="active", default=True),
            Column("updated", _("Updated"), lambda p: p.updated_at, sort="updated_at"),
        ],
        filters=[
            choice_filter("active", _("Active"), "active", lambda: [("True", _("Yes")), ("False", _("No"))]),
            choice_filter("currency", _("Currency"), "currency_id", _currencies),
            choice_filter(
                "tax_rate",
                _("Tax rate (%)"),
                "tax_rate",
                lambda: [(str(r.rate), str(r)) for r in selectors.tax_rates_all()],
            ),
        ],
        default_sort="name",
    )
)

QUOTES = list_spec(
    ListSpec(
        name="quotes",
        label=_("Quotes"),
        permission="sales.view_quote",
        url_name="quote-list",
        rows=lambda viewer, q, archived: _search_documents(selectors.quotes_visible_to(viewer), q),
        columns=[
            Column(
                "number",
                _("Number"),
                lambda r: r.number,
                sort="number",
                template="sales/cells/quote.html",
                default=True,
            ),
            Column("customer", _("Customer"), _customer_text, template=CUSTOMER, default=True),
            Column(
                "status", _("Status"), lambda r: r.get_status_display(), sort="status", template=BADGE, default=True
            ),
            Column("gross_total", _("Gross total"), lambda r: r.gross_total, sort="gross_total", default=True),
            Column("currency", _("Currency"), lambda r: r.currency.code, sort="currency__code", default=True),
            Column("valid_until", _("Valid until"), lambda r: r.valid_until, sort="valid_until", default=True),
            Column("language", _("Language"), lambda r: r.get_language_display(), sort="language"),
            Column("owner", _("Owner"), lambda r: str(r.owner) if r.owner else "", sort="owner__full_name"),
            Column("created", _("Created"), lambda r: r.created_at, sort="created_at"),
        ],
        filters=[
            choice_filter("status", _("Status"), "status", lambda: Quote.Status.choices),
            owner_filter(_("Owner")),
            team_filter(_("Team")),
            date_range_filter("created", _("Created"), "created_at"),
        ],
        default_sort="-created",
    )
)

ORDERS = list_spec(
    ListSpec(
        name="orders",
        label=_("Orders"),
        permission="sales.view_order",
        url_name="order-list",
        rows=lambda viewer, q, archived: _search_documents(selectors.orders_visible_to(viewer), q),
        columns=[
            Column(
                "number",
                _("Number"),
                lambda r: r.number,
                sort="number",
                template="sales/cells/order.html",
                default=True,
            ),
            Column("customer", _("Customer"), _customer_text, template=CUSTOMER, default=True),
            Column(
                "status", _("Status"), lambda r: r.get_status_display(), sort="status", template=BADGE, default=True
            ),
            Column("gross_total", _("Gross total"), lambda r: r.gross_total, sort="gross_total", default=True),
            Column("currency", _("Currency"), lambda r: r.currency.code, sort="currency__code", default=True),
            Column("ordered", _("Ordered"), lambda r: r.ordered_at, sort="ordered_at", default=True),
            Column("source", _("Source"), lambda r: r.get_source_display(), sort="source"),
            Column("external_id", _("External ID"), lambda r: r.external_id or "", sort="external_id"),
            Column("net_total", _("Net total"), lambda r: r.net_total, sort="net_total"),
            Column("tax_total", _("Tax total"), lambda r: r.tax_total, sort="tax_total"),
            Column("owner", _("Owner"), lambda r: str(r.owner) if r.owner else "", sort="owner__full_name"),
        ],
        filters=[
            choice_filter("status", _("Status"), "status", lambda: Order.Status.choices),
            choice_filter("source", _("Source"), "source", lambda: Order.Source.choices),
            owner_filter(_("Owner")),
            team_filter(_("Team")),
            date_range_filter("ordered", _("Ordered"), "ordered_at"),
        ],
        default_sort="-ordered",
    )
)
