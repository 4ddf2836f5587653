"""The orders API: idempotent order receipt (201, then 200, then 409), quotes to orders, the PDF, bad input."""

from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader

from guanxi.sales.models import Currency, Order

from ..customers import factories as customers
from . import order_factories as f

pytestmark = pytest.mark.django_db


def _post(client, path, body):
    return client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json")


def _order_body(account, product, **changes):
    body = {
        "external_id": "JD-20260301-0001",
        "external_system": "京东 JD",
        "account_id": account.pk,
        "ordered_at": "2026-03-01T10:00:00+08:00",
        "lines": [{"product_id": product.pk, "quantity": "2", "discount_percent": "5"}],
    }
    body.update(changes)
    return body


def test_a_resent_order_returns_the_stored_one_with_200(make_user, bearer):
    """First POST creates (201); the same body again answers 200 with the same order and counts it once."""
    rep = make_user("sales")
    client = bearer(rep)
    account, product = customers.account(owner=rep), f.product()
    first = _post(client, "/orders", _order_body(account, product))
    assert first.status_code == 201, first.content
    again = _post(client, "/orders", _order_body(account, product))
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1


def test_a_conflicting_resend_is_a_409_with_a_clear_message(make_user, bearer):
    """Same external ID, other lines: 409, the message names the external ID and what differs; nothing changes."""
    rep = make_user("sales")
    client = bearer(rep)
    account, product = customers.account(owner=rep), f.product()
    assert _post(client, "/orders", _order_body(account, product)).status_code == 201
    other = _order_body(account, product, lines=[{"product_id": product.pk, "quantity": "9"}])
    response = _post(client, "/orders", other)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert "JD-20260301-0001" in error["message"] and "lines" in error["message"]
    assert Order.objects.get().lines.get().quantity == 2


def test_bad_orders_are_refused_naming_the_field(make_user, bearer):
    """A negative quantity names its line; a currency without a rate names `currency`; nothing is saved."""
    rep = make_user("sales")
    client = bearer(rep)
    account, product = customers.account(owner=rep), f.product()
    negative = _post(
        client, "/orders", _order_body(account, product, lines=[{"product_id": product.pk, "quantity": "-1"}])
    )
    assert negative.status_code == 422
    assert "lines.0.quantity" in negative.json()["error"]["fields"]
    Currency.objects.create(code="KRW", name="韩元", rate_to_cny=None)
    no_rate = _post(client, "/orders", _order_body(account, product, external_id="X-2", currency="KRW"))
    assert no_rate.status_code == 422
    assert "KRW" in no_rate.json()["error"]["fields"]["currency"][0]
    assert not Order.objects.exists()


def test_a_quote_by_api_accepts_into_an_order_once_and_prints_as_pdf(make_user, bearer):
    """POST /quotes, /accept (201 with the order), /accept again (422); the PDF names the customer."""
    rep = make_user("sales")
    client = bearer(rep)
    account = customers.account(owner=rep, name="上海云帆科技有限公司")
    created = _post(
        client,
        "/quotes",
        {"account_id": account.pk, "language": "en", "lines": [{"product_id": f.product().pk, "quantity": "3"}]},
    )
    assert created.status_code == 201, created.content
    quote = created.json()
    assert quote["gross_total"] == "339.00"  # 3 × 100.00 + 13 % VAT
    pdf = client.get(f"/api/v1/quotes/{quote['id']}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "上海云帆科技有限公司" in text and "Gross total" in text
    accepted = _post(client, f"/quotes/{quote['id']}/accept", {})
    assert accepted.status_code == 201 and accepted.json()["gross_total"] == "339.00"
    twice = _post(client, f"/quotes/{quote['id']}/accept", {})
    assert twice.status_code == 422 and "already been accepted" in twice.json()["error"]["fields"]["status"][0]
    assert Order.objects.count() == 1


def test_purchase_figures_count_repeat_buyers_and_average_value(make_user, bearer):
    """Two buyers, one twice: repurchase rate 0.5; AOV is revenue over purchases (cancelled left out)."""
    admin = make_user("administrator")
    one, two = customers.account(owner=admin), customers.account(owner=admin)
    f.order(owner=admin, account=one)  # 113.00
    f.order(owner=admin, account=one)
    f.order(owner=admin, account=two)
    f.order(owner=admin, account=two, status="cancelled")
    figures = bearer(admin).get("/api/v1/purchase-figures").json()
    assert figures["orders"] == 3 and figures["customers"] == 2 and figures["repeat_customers"] == 1
    assert figures["repurchase_rate"] == 0.5
    assert figures["average_order_value_cny"] == "113.00"
