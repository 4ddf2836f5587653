"""Factories for products, quotes and orders; they go through the services so data is as the app stores it."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from guanxi.sales import order_services as services
from guanxi.sales.models import Currency, Order, Product, Quote, TaxRate

from ..customers import factories as customers

_seq = itertools.count(1)


def defaults() -> None:
    """The rows migration 0002/0003 write (currencies, VAT rates), back after a transactional test flushed them."""
    for code, rate in (("CNY", "1"), ("USD", "7.1"), ("EUR", "7.7")):
        Currency.objects.get_or_create(code=code, defaults={"name": code, "rate_to_cny": Decimal(rate)})
    for rate in ("13", "9", "6", "3", "0"):
        TaxRate.objects.get_or_create(rate=Decimal(rate))


def cny() -> Currency:
    defaults()
    return Currency.objects.get(code="CNY")


def product(*, actor: Any = None, **fields: Any) -> Product:
    n = next(_seq)
    fields.setdefault("sku", f"SKU-{n:05d}")
    fields.setdefault("name", f"云服务器 Cloud server {n}")
    fields.setdefault("unit", "台")
    fields.setdefault("price", Decimal("100.00"))
    fields.setdefault("currency", cny())
    fields.setdefault("tax_rate", Decimal("13"))
    return services.product_create(actor=actor, **fields)


def quote(*, owner: Any, account: Any = None, lines: list[dict[str, Any]] | None = None, **fields: Any) -> Quote:
    account = account or customers.account(owner=owner)
    lines = lines or [{"product": product().pk, "quantity": "2"}]
    fields.setdefault("currency", cny())
    return services.quote_create(actor=owner, account=account, lines=lines, **fields)


def order(*, owner: Any, account: Any = None, contact: Any = None, **fields: Any) -> Order:
    if account is None and contact is None:
        account = customers.account(owner=owner)
    fields.setdefault("lines", [{"product": product().pk, "quantity": "1"}])
    fields.setdefault("currency", cny())
    return services.order_create(actor=owner, account=account, contact=contact, **fields)
