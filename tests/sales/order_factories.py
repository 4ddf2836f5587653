"""Factories for products, quotes and orders; they go through the services so data is as the app stores it."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from guanxi.sales import order_services as services
from guanxi.sales.models import Currency, Order, Product, Quote

from ..customers import factories as customers

_seq = itertools.count(1)


def cny() -> Currency:
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
