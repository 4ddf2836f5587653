"""Who may open the product, price-list, tax-rate, quote and order pages and endpoints (added to access_cases)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from ..access import ADMIN_ONLY, Case
from ..customers import factories as customers
from ..factories import TeamFactory, UserFactory
from . import order_factories as f

# the catalogue and documents are read by every staff role; reps and managers write quotes and orders
VIEWERS = frozenset(["administrator", "manager", "sales", "service", "marketing", "analyst"])
EDITORS = frozenset(["administrator", "manager", "sales"])
_seq = itertools.count(1)
World = dict[str, Any]
Args = Callable[[World, Any], dict[str, Any]]


def _outsider() -> Any:
    return UserFactory(roles=["sales"], teams=[TeamFactory()])


def _own(make: Callable[..., Any], key: str) -> Args:
    return lambda world, user: {key: make(owner=user).pk}


def _theirs(make: Callable[..., Any], key: str) -> Args:
    def args(world: World, user: Any) -> dict[str, Any]:
        outsider = _outsider()
        record = make(owner=outsider)
        return {key: record.pk}

    return args


def _sent_quote(*, owner: Any) -> Any:
    from guanxi.sales import order_services

    quote = f.quote(owner=owner)
    return order_services.quote_set_status(quote=quote, status="sent", actor=owner)


def _product(world: World, user: Any) -> dict[str, Any]:
    return {"pk": f.product().pk}


def _price_list(world: World, user: Any) -> dict[str, Any]:
    from guanxi.sales import order_services

    return {"pk": order_services.price_list_create(actor=None, name=f"价目表 {next(_seq)}", currency=f.cny()).pk}


def _product_form(world: World, user: Any) -> dict[str, Any]:
    return {
        "sku": f"P-{next(_seq)}",
        "name": "软件许可 License",
        "price": "99",
        "currency": f.cny().pk,
        "tax_rate": "6",
    }


def _document_form(world: World, user: Any) -> dict[str, Any]:
    return {
        "account": customers.account(owner=user).pk,
        "currency": f.cny().pk,
        "language": "zh-hans",
        "status": "pending",
        "line-0-product": f.product().pk,
        "line-0-quantity": "2",
    }


def _api_lines() -> list[dict[str, Any]]:
    return [{"product_id": f.product().pk, "quantity": "2"}]


PAGES = [
    Case("product-list", VIEWERS),
    Case("product-create", ADMIN_ONLY),
    Case("product-create", ADMIN_ONLY, ok=302, method="POST", body=_product_form),
    Case("product-edit", ADMIN_ONLY, args=_product),
    Case("product-active", ADMIN_ONLY, ok=302, method="POST", args=_product, body=lambda w, u: {"active": "0"}),
    Case("price-list-list", VIEWERS),
    Case("price-list-create", ADMIN_ONLY),
    Case("price-list-detail", VIEWERS, args=_price_list),
    Case("tax-rate-list", ADMIN_ONLY),
    Case("order-settings", ADMIN_ONLY),
    Case("quote-list", VIEWERS),
    Case("quote-create", EDITORS),
    Case("quote-create", EDITORS, ok=302, method="POST", body=_document_form),
    Case("quote-detail", VIEWERS, args=_own(f.quote, "pk"), in_scope_only=_theirs(f.quote, "pk")),
    Case("quote-edit", EDITORS, args=_own(f.quote, "pk"), in_scope_only=_theirs(f.quote, "pk")),
    Case("quote-print", VIEWERS, args=_own(f.quote, "pk"), in_scope_only=_theirs(f.quote, "pk")),
    Case("quote-pdf", VIEWERS, args=_own(f.quote, "pk"), in_scope_only=_theirs(f.quote, "pk")),
    Case(
        "quote-status",
        EDITORS,
        ok=302,
        method="POST",
        args=_own(f.quote, "pk"),
        in_scope_only=_theirs(f.quote, "pk"),
        body=lambda w, u: {"status": "sent"},
    ),
    Case(
        "quote-accept",
        EDITORS,
        ok=302,
        method="POST",
        args=_own(_sent_quote, "pk"),
        in_scope_only=_theirs(_sent_quote, "pk"),
    ),
    Case("order-list", VIEWERS),
    Case("order-create", EDITORS),
    Case("order-create", EDITORS, ok=302, method="POST", body=_document_form),
    Case("order-detail", VIEWERS, args=_own(f.order, "pk"), in_scope_only=_theirs(f.order, "pk")),
    Case(
        "order-status",
        EDITORS,
        ok=302,
        method="POST",
        args=_own(f.order, "pk"),
        in_scope_only=_theirs(f.order, "pk"),
        body=lambda w, u: {"status": "paid"},
    ),
]


def _api(make: Callable[..., Any], key: str, *, theirs: bool = False) -> Args:
    return (_theirs if theirs else _own)(make, key)


ENDPOINTS = [
    Case("GET /products", VIEWERS),
    Case("GET /products/{product_id}", VIEWERS, args=lambda w, u: {"product_id": f.product().pk}),
    Case(
        "POST /products",
        ADMIN_ONLY,
        ok=201,
        body=lambda w, u: {"sku": f"API-{next(_seq)}", "name": "实施服务 Services", "price": "500", "tax_rate": "6"},
    ),
    Case(
        "PATCH /products/{product_id}",
        ADMIN_ONLY,
        args=lambda w, u: {"product_id": f.product().pk},
        body=lambda w, u: {"price": "120"},
    ),
    Case("DELETE /products/{product_id}", ADMIN_ONLY, ok=204, args=lambda w, u: {"product_id": f.product().pk}),
    Case("GET /price-lists", VIEWERS),
    Case("GET /price-lists/{price_list_id}", VIEWERS, args=lambda w, u: {"price_list_id": _price_list(w, u)["pk"]}),
    Case(
        "POST /price-lists",
        ADMIN_ONLY,
        ok=201,
        body=lambda w, u: f.defaults() or {"name": f"美元价 USD {next(_seq)}", "currency": "USD"},
    ),
    Case(
        "PATCH /price-lists/{price_list_id}",
        ADMIN_ONLY,
        args=lambda w, u: {"price_list_id": _price_list(w, u)["pk"]},
        body=lambda w, u: {"active": False},
    ),
    Case(
        "PUT /price-lists/{price_list_id}/prices/{product_id}",
        ADMIN_ONLY,
        args=lambda w, u: {"price_list_id": _price_list(w, u)["pk"], "product_id": f.product().pk},
        body=lambda w, u: {"price": "88.80"},
    ),
    Case("GET /tax-rates", VIEWERS),
    Case("GET /quotes", VIEWERS),
    Case(
        "GET /quotes/{quote_id}",
        VIEWERS,
        args=_api(f.quote, "quote_id"),
        in_scope_only=_api(f.quote, "quote_id", theirs=True),
    ),
    Case(
        "POST /quotes",
        EDITORS,
        ok=201,
        body=lambda w, u: {"account_id": customers.account(owner=u).pk, "lines": _api_lines()},
    ),
    Case(
        "PATCH /quotes/{quote_id}",
        EDITORS,
        args=_api(f.quote, "quote_id"),
        in_scope_only=_api(f.quote, "quote_id", theirs=True),
        body=lambda w, u: {"notes": "含安装 installation included"},
    ),
    Case(
        "POST /quotes/{quote_id}/status",
        EDITORS,
        args=_api(f.quote, "quote_id"),
        in_scope_only=_api(f.quote, "quote_id", theirs=True),
        body=lambda w, u: {"status": "sent"},
    ),
    Case(
        "POST /quotes/{quote_id}/accept",
        EDITORS,
        ok=201,
        args=_api(_sent_quote, "quote_id"),
        in_scope_only=_api(_sent_quote, "quote_id", theirs=True),
    ),
    Case(
        "GET /quotes/{quote_id}/pdf",
        VIEWERS,
        args=_api(f.quote, "quote_id"),
        in_scope_only=_api(f.quote, "quote_id", theirs=True),
    ),
    Case("GET /orders", VIEWERS),
    Case(
        "GET /orders/{order_id}",
        VIEWERS,
        args=_api(f.order, "order_id"),
        in_scope_only=_api(f.order, "order_id", theirs=True),
    ),
    Case(
        "POST /orders",
        EDITORS,
        ok=201,
        body=lambda w, u: {
            "external_id": f"SHOP-{next(_seq)}",
            "external_system": "有赞",
            "account_id": customers.account(owner=u).pk,
            "lines": _api_lines(),
        },
    ),
    Case(
        "POST /orders/{order_id}/status",
        EDITORS,
        args=_api(f.order, "order_id"),
        in_scope_only=_api(f.order, "order_id", theirs=True),
        body=lambda w, u: {"status": "paid"},
    ),
    Case("GET /purchase-figures", VIEWERS),
]
