"""Reads of products, price lists, quotes and orders, and the purchase figures; owned records always scoped."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum

from guanxi.customers.models import Account, Contact

from .models import Currency, Deal, Order, PriceList, Product, Quote, TaxRate
from .order_services import NOT_PURCHASES


def products_all(*, q: str = "", active: bool | None = None) -> QuerySet[Product]:
    """The catalogue (read by every staff role: it is configuration, not customer data)."""
    rows = Product.objects.select_related("currency")
    if active is not None:
        rows = rows.filter(active=active)
    q = " ".join(q.split())
    if q:
        rows = rows.filter(Q(sku__icontains=q) | Q(name__icontains=q))
    return rows


def currencies_usable() -> QuerySet[Currency]:
    return Currency.objects.filter(active=True).order_by("code")


def price_lists_all() -> QuerySet[PriceList]:
    return PriceList.objects.select_related("currency").annotate(item_count=Count("items")).order_by("name", "id")


def tax_rates_all() -> QuerySet[TaxRate]:
    return TaxRate.objects.order_by("-rate")


def quotes_visible_to(user: Any, action: str = "view") -> QuerySet[Quote]:
    return Quote.objects.visible_to(user, action).select_related("account", "contact", "deal", "currency", "owner")


def orders_visible_to(user: Any, action: str = "view") -> QuerySet[Order]:
    return Order.objects.visible_to(user, action).select_related("account", "contact", "currency", "owner", "quote")


def _customer_field(record: Account | Contact) -> str:
    return "account" if isinstance(record, Account) else "contact"


def customer_orders(*, record: Account | Contact, user: Any) -> QuerySet[Order]:
    """The orders of a customer the caller found in scope, that the caller may see, newest first."""
    return orders_visible_to(user).filter(**{_customer_field(record): record}).order_by("-ordered_at", "-id")


def customer_quotes(*, record: Account | Contact, user: Any) -> QuerySet[Quote]:
    return quotes_visible_to(user).filter(**{_customer_field(record): record}).order_by("-id")


def customer_deals(*, record: Account | Contact, user: Any) -> QuerySet[Deal]:
    deals = Deal.objects.visible_to(user).select_related("stage", "currency")
    if isinstance(record, Account):
        return deals.filter(account=record).order_by("-id")
    return deals.filter(contacts=record).order_by("-id")


@dataclass(frozen=True)
class PurchaseSummary:
    """One customer's purchases: how many, how much (CNY), when last."""

    orders: int
    total_cny: Decimal
    last_at: Any


def customer_purchase_summary(*, record: Account | Contact, user: Any) -> PurchaseSummary:
    rows = customer_orders(record=record, user=user).exclude(status__in=NOT_PURCHASES)
    orders = list(rows.values_list("gross_total", "rate_to_cny", "ordered_at"))
    total = sum((g * r for g, r, _at in orders), Decimal(0)).quantize(Decimal("0.01"))
    return PurchaseSummary(len(orders), total, max((at for _g, _r, at in orders), default=None))


@dataclass(frozen=True)
class PurchaseFigures:
    """Repurchase rate (复购率) and average order value (客单价) over the orders the user may see."""

    orders: int
    customers: int
    repeat_customers: int
    revenue_cny: Decimal
    average_order_value_cny: Decimal
    repurchase_rate: float  # customers with two or more purchases / customers with one or more, 0–1


def purchase_figures(*, user: Any, since: Any = None, until: Any = None) -> PurchaseFigures:
    """Over every purchase in scope (cancelled and refunded orders left out), in one SQL statement: purchases
    grouped per customer (the account when the order has one, else the contact), then summed. On PostgreSQL the
    groups come from the covering indexes of migration 0004 (an index-only scan in customer order)."""
    rows = Order.objects.visible_to(user).exclude(status__in=NOT_PURCHASES)
    if since is not None:
        rows = rows.filter(ordered_at__gte=since)
    if until is not None:
        rows = rows.filter(ordered_at__lt=until)
    cny = ExpressionWrapper(
        F("gross_total") * F("rate_to_cny"), output_field=DecimalField(max_digits=28, decimal_places=8)
    )
    parts = [
        rows.filter(account_id__isnull=False).values("account_id").annotate(n=Count("*"), revenue=Sum(cny)),
        rows.filter(account_id__isnull=True).values("contact_id").annotate(n=Count("*"), revenue=Sum(cny)),
    ]
    sql: list[str] = []
    params: list[Any] = []
    for part in parts:
        part_sql, part_params = part.order_by().query.sql_with_params()
        sql.append(part_sql)
        params.extend(part_params)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(n), 0), SUM(revenue), COUNT(*), COALESCE(SUM(CASE WHEN n >= 2 THEN 1 ELSE 0 END), 0)"
            f" FROM ({sql[0]} UNION ALL {sql[1]}) AS per_customer",
            params,
        )
        count, revenue_sum, customers, repeat = cursor.fetchone()
    revenue = Decimal(revenue_sum or 0).quantize(Decimal("0.01"))
    count, customers, repeat = int(count), int(customers), int(repeat)
    return PurchaseFigures(
        orders=count,
        customers=customers,
        repeat_customers=repeat,
        revenue_cny=revenue,
        average_order_value_cny=(revenue / count).quantize(Decimal("0.01")) if count else Decimal("0.00"),
        repurchase_rate=(repeat / customers) if customers else 0.0,
    )
