"""Products, quotes and orders through their services: money math, transitions, idempotency, the lifecycle,
and every kind of bad input refused whole with a message naming the field."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from guanxi.core.models import Event
from guanxi.customers.models import LifecycleStage
from guanxi.sales import order_services as services
from guanxi.sales.models import Currency, Order, OrderLine, Quote, QuoteLine
from guanxi.sales.pricing import line_totals, money

from ..customers import factories as customers
from . import order_factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def rep(make_user):
    return make_user("sales")


def test_money_rounds_half_up_to_the_cent():
    """0.005 goes up (banker's rounding would go down to the even cent)."""
    assert money(Decimal("2.345")) == Decimal("2.35")
    assert money(Decimal("2.335")) == Decimal("2.34")
    assert money(Decimal("-2.345")) == Decimal("-2.35")


def test_line_totals_apply_discount_then_tax_on_the_rounded_net():
    """3 × 33.33 less 10 % = 89.991 → 89.99 net; 13 % of 89.99 = 11.6987 → 11.70 tax."""
    totals = line_totals(
        quantity=Decimal("3"), unit_price=Decimal("33.33"), discount_percent=Decimal("10"), tax_rate=Decimal("13")
    )
    assert (totals.net, totals.tax, totals.gross) == (Decimal("89.99"), Decimal("11.70"), Decimal("101.69"))


def test_a_quote_totals_are_the_sums_of_its_rounded_lines(rep):
    """Net, tax and gross of the quote add up the lines exactly as printed."""
    a = f.product(price=Decimal("33.33"), tax_rate=Decimal("13"))
    b = f.product(price=Decimal("0.05"), tax_rate=Decimal("6"))
    quote = f.quote(
        owner=rep,
        lines=[{"product": a.pk, "quantity": "3", "discount_percent": "10"}, {"product": b.pk, "quantity": "1"}],
    )
    lines = list(quote.lines.order_by("position"))
    assert [line.net_amount for line in lines] == [Decimal("89.99"), Decimal("0.05")]
    assert [line.tax_amount for line in lines] == [Decimal("11.70"), Decimal("0.00")]  # 0.003 rounds down
    assert (quote.net_total, quote.tax_total, quote.gross_total) == (
        Decimal("90.04"),
        Decimal("11.70"),
        Decimal("101.74"),
    )
    assert Event.objects.for_object(quote).filter(action="created").count() == 1


def test_a_price_list_price_is_used_when_the_list_is_chosen(rep):
    """The list's price wins over the product's; without a list the product price is used."""
    product = f.product(price=Decimal("100"))
    price_list = services.price_list_create(actor=None, name="经销商价 Distributors", currency=f.cny())
    services.price_list_price_set(price_list=price_list, product=product, price="80.50", actor=None)
    with_list = f.quote(owner=rep, lines=[{"product": product.pk, "quantity": "1"}], price_list=price_list)
    without = f.quote(owner=rep, lines=[{"product": product.pk, "quantity": "1"}])
    assert with_list.lines.get().unit_price == Decimal("80.50")
    assert without.lines.get().unit_price == Decimal("100.00")


def test_a_price_in_another_currency_is_converted_at_the_rates(rep):
    """A 710 CNY product quoted in USD (7.1 CNY per USD) costs 100.00 USD."""
    product = f.product(price=Decimal("710"))
    quote = f.quote(owner=rep, lines=[{"product": product.pk}], currency=Currency.objects.get(code="USD"))
    assert quote.lines.get().unit_price == Decimal("100.00")


def test_a_currency_without_a_rate_is_refused_naming_the_currency(rep):
    """Nothing is written: no quote, no lines."""
    jpy = Currency.objects.create(code="JPY", name="日元", rate_to_cny=None)
    with pytest.raises(ValidationError) as caught:
        f.quote(owner=rep, currency=jpy)
    assert "JPY has no exchange rate" in caught.value.message_dict["currency"][0]
    assert not Quote.objects.exists() and not QuoteLine.objects.exists()


def test_negative_quantity_is_refused_naming_the_line(rep):
    """The message names the line; nothing is half-saved."""
    product = f.product()
    account = customers.account(owner=rep)
    with pytest.raises(ValidationError) as caught:
        services.order_create(
            actor=rep,
            account=account,
            currency=f.cny(),
            lines=[{"product": product.pk, "quantity": "1"}, {"product": product.pk, "quantity": "-2"}],
        )
    assert caught.value.message_dict["lines.1.quantity"] == ["Line 2: The quantity must be more than zero."]
    assert not Order.objects.exists() and not OrderLine.objects.exists()


def test_an_order_for_an_inactive_or_deleted_product_is_refused(rep):
    """An inactive product and an unknown one (deleted) are each named on their line."""
    gone = f.product()
    services.product_set_active(product=gone, active=False, actor=rep)
    account = customers.account(owner=rep)
    with pytest.raises(ValidationError) as caught:
        services.order_create(
            actor=rep, account=account, currency=f.cny(), lines=[{"product": gone.pk}, {"product": 999_999}]
        )
    errors = caught.value.message_dict
    assert "no longer sold" in errors["lines.0.product"][0]
    assert "no product “999999”" in errors["lines.1.product"][0]
    assert not Order.objects.exists()


def test_a_tax_rate_not_in_use_is_refused_for_products(rep):
    """VAT rates are the configured ones (13, 9, 6, 3, 0 %); 7 % is refused on the field."""
    with pytest.raises(ValidationError) as caught:
        f.product(tax_rate=Decimal("7"))
    assert "tax_rate" in caught.value.message_dict
    assert f.product(tax_rate=Decimal("6")).tax_rate == Decimal("6")


def test_accepting_a_quote_creates_its_order_once(rep):
    """One transaction: the quote is accepted and records the order; a second accept is refused."""
    quote = f.quote(owner=rep)
    services.quote_set_status(quote=quote, status="sent", actor=rep)
    order = services.quote_accept(quote=quote, actor=rep)
    quote.refresh_from_db()
    assert quote.status == Quote.Status.ACCEPTED and quote.accepted_at is not None
    assert list(quote.orders.all()) == [order]
    assert order.source == Order.Source.QUOTE and order.gross_total == quote.gross_total
    assert order.lines.count() == quote.lines.count()
    with pytest.raises(ValidationError) as caught:
        services.quote_accept(quote=quote, actor=rep)
    assert "already been accepted" in caught.value.message_dict["status"][0]
    assert Order.objects.count() == 1


def test_quote_statuses_move_only_forward(rep):
    """draft → sent → rejected; a rejected quote cannot be sent again or accepted."""
    quote = f.quote(owner=rep)
    services.quote_set_status(quote=quote, status="sent", actor=rep)
    services.quote_set_status(quote=quote, status="rejected", actor=rep)
    for attempt in ("sent", "expired"):
        with pytest.raises(ValidationError):
            services.quote_set_status(quote=quote, status=attempt, actor=rep)
    with pytest.raises(ValidationError):
        services.quote_accept(quote=quote, actor=rep)
    assert not Order.objects.exists()


def test_order_transitions_stamp_dates_and_record_events(rep):
    """pending → paid → shipped → completed; each step sets its date and writes a status_changed event."""
    order = f.order(owner=rep)
    for status, stamp in (("paid", "paid_at"), ("shipped", "shipped_at"), ("completed", "completed_at")):
        order = services.order_set_status(order=order, status=status, actor=rep)
        assert getattr(order, stamp) is not None
    events = Event.objects.for_object(order).filter(action="status_changed")
    assert [e.changes["status"] for e in events.order_by("id")] == [
        ["pending", "paid"],
        ["paid", "shipped"],
        ["shipped", "completed"],
    ]


def test_forbidden_order_transitions_are_refused(rep):
    """A cancelled order stays cancelled; a pending one cannot be shipped or refunded."""
    order = f.order(owner=rep)
    for status in ("shipped", "refunded", "completed"):
        with pytest.raises(ValidationError):
            services.order_set_status(order=order, status=status, actor=rep)
    services.order_set_status(order=order, status="cancelled", actor=rep)
    with pytest.raises(ValidationError) as caught:
        services.order_set_status(order=order, status="paid", actor=rep)
    assert "cannot become" in caught.value.message_dict["status"][0]


def test_a_resent_order_is_returned_not_counted_twice(rep):
    """Same external ID and content: the stored order comes back, no second order, no second event."""
    product = f.product()
    account = customers.account(owner=rep)
    args = {
        "external_id": "ERP-1001",
        "external_system": "用友 U8",
        "account": account,
        "currency": f.cny(),
        "lines": [{"product": product.pk, "quantity": "2"}],
    }
    first, created = services.order_receive(actor=rep, **args)
    again, created_again = services.order_receive(actor=rep, **args)
    assert created and not created_again and again.pk == first.pk
    assert Order.objects.count() == 1


def test_a_conflicting_resend_is_refused_and_changes_nothing(rep):
    """Same external ID, other quantity: OrderConflict names the external ID and what differs."""
    product = f.product()
    account = customers.account(owner=rep)
    services.order_receive(
        actor=rep, external_id="ERP-7", account=account, currency=f.cny(), lines=[{"product": product.pk}]
    )
    with pytest.raises(services.OrderConflict) as caught:
        services.order_receive(
            actor=rep,
            external_id="ERP-7",
            account=account,
            currency=f.cny(),
            lines=[{"product": product.pk, "quantity": "5"}],
        )
    assert "lines" in caught.value.message_dict["external_id"][0]
    assert Order.objects.get().lines.get().quantity == Decimal("1")


def test_first_order_makes_a_customer_and_three_in_a_year_loyal(rep):
    """Lifecycle: lead → customer on the first purchase, loyal on the third within 365 days; events on the account."""
    account = customers.account(owner=rep)
    f.order(owner=rep, account=account)
    account.refresh_from_db()
    assert account.lifecycle_stage == LifecycleStage.CUSTOMER
    f.order(owner=rep, account=account)
    f.order(owner=rep, account=account)
    account.refresh_from_db()
    assert account.lifecycle_stage == LifecycleStage.LOYAL
    actions = set(Event.objects.for_object(account).values_list("action", flat=True))
    assert {"ordered", "stage_changed"} <= actions


def test_a_cancelled_order_does_not_make_a_customer(rep):
    """Only purchases count: an order entered as cancelled leaves the stage alone."""
    account = customers.account(owner=rep)
    f.order(owner=rep, account=account, status="cancelled")
    account.refresh_from_db()
    assert account.lifecycle_stage == LifecycleStage.LEAD


def test_customers_without_an_order_for_a_year_churn(rep):
    """The nightly job churns a customer whose last purchase is older than churn_days; a recent buyer stays."""
    idle, active = customers.account(owner=rep), customers.account(owner=rep)
    f.order(owner=rep, account=idle, ordered_at=timezone.now() - timedelta(days=400))
    f.order(owner=rep, account=active, ordered_at=timezone.now() - timedelta(days=10))
    assert services.customers_churn_idle() == 1
    idle.refresh_from_db()
    active.refresh_from_db()
    assert idle.lifecycle_stage == LifecycleStage.CHURNED
    assert active.lifecycle_stage == LifecycleStage.CUSTOMER
    f.order(owner=rep, account=idle)  # buying again brings a churned customer back
    idle.refresh_from_db()
    assert idle.lifecycle_stage == LifecycleStage.CUSTOMER
