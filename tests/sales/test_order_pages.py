"""The quote and order pages: a quote with two lines built by form, line errors named by line, accept → order,
and the customer page's Orders panel and timeline."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from guanxi.sales.models import Order, Quote

from ..customers import factories as customers
from . import order_factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(make_user):
    return make_user("sales", language="en")


def _form(account, lines):
    data = {"account": account.pk, "currency": f.cny().pk, "language": "en"}
    for i, (product, quantity) in enumerate(lines):
        data[f"line-{i}-product"] = product.pk
        data[f"line-{i}-quantity"] = quantity
    return data


def test_a_quote_with_two_lines_is_built_then_accepted_into_an_order(rep, login):
    """The form's two lines become the quote; Accept creates the order, shown on the account page and timeline."""
    client = login(rep)
    account = customers.account(owner=rep, name="成都天府软件有限公司")
    a, b = f.product(price=Decimal("10.00")), f.product(price=Decimal("2.50"), tax_rate=Decimal("6"))
    response = client.post(reverse("quote-create"), _form(account, [(a, "3"), (b, "4")]))
    quote = Quote.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("quote-detail", args=[quote.pk])
    assert quote.lines.count() == 2 and quote.gross_total == Decimal("44.50")  # 33.90 + 10.60
    page = client.get(reverse("quote-detail", args=[quote.pk])).content.decode()
    assert "44.50" in page
    assert client.get(reverse("quote-print", args=[quote.pk])).status_code == 200
    response = client.post(reverse("quote-accept", args=[quote.pk]))
    order = Order.objects.get()
    assert response["Location"] == reverse("order-detail", args=[order.pk])
    account_page = client.get(reverse("account-detail", args=[account.pk])).content.decode()
    assert order.number in account_page, "the Orders panel lists the order"
    assert "placed an order" in account_page, "the timeline shows the order event"


def test_a_bad_line_is_named_on_its_row_and_nothing_is_saved(rep, login):
    """A negative quantity on the second line shows “Line 2” and writes no quote."""
    client = login(rep)
    account = customers.account(owner=rep)
    product = f.product()
    response = client.post(reverse("quote-create"), _form(account, [(product, "1"), (product, "-3")]))
    assert response.status_code == 200
    assert "Line 2: The quantity must be more than zero." in response.content.decode()
    assert not Quote.objects.exists()


def test_order_status_moves_from_the_order_page(rep, login):
    """Mark paid from the page; the page then offers shipped, completed and refunded, not paid again."""
    client = login(rep)
    order = f.order(owner=rep)
    client.post(reverse("order-status", args=[order.pk]), {"status": "paid"})
    order.refresh_from_db()
    assert order.status == "paid" and order.paid_at is not None
    page = client.get(reverse("order-detail", args=[order.pk])).content.decode()
    assert 'value="shipped"' in page and 'value="paid"' not in page


def test_lists_render_with_their_rows(rep, login):
    """Products, quotes and orders lists show what exists; empty lists say what to do next."""
    client = login(rep)
    assert "No orders yet." in client.get(reverse("order-list")).content.decode()
    order = f.order(owner=rep)
    assert order.number in client.get(reverse("order-list")).content.decode()
    assert "SKU-" in client.get(reverse("product-list")).content.decode()
