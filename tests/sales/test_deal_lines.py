"""A deal's product lines: priced like quote lines, the deal's amount follows their gross total, a quote made from
the deal starts with them; pages (htmx) and API endpoints go through the same services and the same scope."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from guanxi.core.models import Event
from guanxi.sales import order_services, services
from guanxi.sales.models import Deal, DealProduct

from ..customers import factories as customer_factories
from . import factories
from . import order_factories as products

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def updated_events(deal: Deal) -> list[Event]:
    return list(Event.objects.for_object(deal).filter(action="updated").order_by("id"))


def test_lines_set_the_deal_amount_to_their_gross_total_and_record_an_event(make_user):
    """Two lines (one discounted, one at 6 % VAT): amount = Σ gross, rounded per line; each add is an event."""
    rep = make_user("sales")
    deal = factories.deal(owner=rep, amount="999")
    server = products.product(price=Decimal("100.00"), tax_rate=Decimal("13"))
    support = products.product(price=Decimal("50.00"), tax_rate=Decimal("6"))
    first = services.deal_line_add(deal=deal, actor=rep, product=server.pk, quantity="3", discount_percent="10")
    services.deal_line_add(deal=deal, actor=rep, product=support.pk, quantity="2", tax_rate="6")
    # 3 × 100 × 0.9 = 270.00 net + 35.10 tax; 2 × 50 = 100.00 net + 6.00 tax
    assert (first.net_amount, first.tax_amount, first.gross_amount) == (
        Decimal("270.00"),
        Decimal("35.10"),
        Decimal("305.10"),
    )
    deal.refresh_from_db()
    assert deal.amount == Decimal("411.10")
    assert deal.amount_cny == Decimal("411.10")
    events = updated_events(deal)
    assert events[0].changes["amount"] == ["999.00", "305.10"]
    assert events[1].changes["lines"][1].startswith(support.sku)


def test_lines_of_a_usd_deal_are_priced_in_dollars_and_counted_in_yuan(make_user):
    """A CNY product on a USD deal is converted at the rates; amount_cny converts the total back."""
    rep = make_user("sales")
    products.defaults()
    deal = factories.deal(owner=rep, currency=factories.currency("USD"))
    item = products.product(price=Decimal("710.00"), tax_rate=Decimal("0"))
    line = services.deal_line_add(deal=deal, actor=rep, product=item.pk, tax_rate="0")
    assert line.unit_price == Decimal("100.00")
    deal.refresh_from_db()
    assert deal.amount == Decimal("100.00")
    assert deal.amount_cny == Decimal("710.00")


def test_a_negative_quantity_is_refused_naming_the_field_and_nothing_is_saved(make_user):
    """Bad input: the error is on `quantity`, says which line, and the deal keeps its amount and no line."""
    rep = make_user("sales")
    deal = factories.deal(owner=rep, amount="500")
    with pytest.raises(ValidationError) as exc:
        services.deal_line_add(deal=deal, actor=rep, product=products.product().pk, quantity="-2")
    assert list(exc.value.message_dict) == ["quantity"]
    assert exc.value.message_dict["quantity"][0].startswith("Line 1:")
    deal.refresh_from_db()
    assert deal.amount == Decimal("500.00")
    assert not DealProduct.objects.filter(deal=deal).exists()
    assert not updated_events(deal)


def test_an_unknown_product_and_an_unused_tax_rate_are_refused(make_user):
    rep = make_user("sales")
    deal = factories.deal(owner=rep)
    with pytest.raises(ValidationError) as exc:
        services.deal_line_add(deal=deal, actor=rep, product=999_999)
    assert "no product" in exc.value.message_dict["product"][0]
    with pytest.raises(ValidationError) as exc:
        services.deal_line_add(deal=deal, actor=rep, product=products.product().pk, tax_rate="17")
    assert "17 %" in exc.value.message_dict["tax_rate"][0]


def test_changing_and_removing_lines_keeps_the_amount_in_step(make_user):
    """Changing a quantity re-prices the line; removing one leaves the rest's total; removing the last keeps it."""
    rep = make_user("sales")
    deal = factories.deal(owner=rep)
    item = products.product(price=Decimal("100.00"), tax_rate=Decimal("0"))
    a = services.deal_line_add(deal=deal, actor=rep, product=item.pk, tax_rate="0")
    b = services.deal_line_add(deal=deal, actor=rep, product=item.pk, quantity="2", tax_rate="0")
    services.deal_line_update(line=a, actor=rep, quantity="5")
    deal.refresh_from_db()
    assert deal.amount == Decimal("700.00")
    services.deal_line_remove(line=b, actor=rep)
    deal.refresh_from_db()
    assert deal.amount == Decimal("500.00")
    services.deal_line_remove(line=a, actor=rep)
    deal.refresh_from_db()
    assert deal.amount == Decimal("500.00")
    assert updated_events(deal)[-1].changes["lines"][1] is None


def test_while_a_deal_has_lines_its_amount_and_currency_are_theirs(make_user):
    """deal_update refuses another amount (the lines set it) and another currency (the lines are priced in it)."""
    rep = make_user("sales")
    products.defaults()
    deal = factories.deal(owner=rep)
    services.deal_line_add(deal=deal, actor=rep, product=products.product().pk)
    with pytest.raises(ValidationError) as exc:
        services.deal_update(deal=deal, actor=rep, amount="1", currency=factories.currency("USD"))
    assert set(exc.value.message_dict) == {"amount", "currency"}
    deal.refresh_from_db()
    assert deal.amount == Decimal("113.00")
    # the same amount (as a form sends it back) is fine
    services.deal_update(deal=deal, actor=rep, amount="113.00", name="续约 2027")


def test_a_quote_from_a_deal_starts_with_its_lines_and_the_same_totals(make_user):
    """quote_create with the deal and no lines copies product, quantity, price, discount and rate."""
    rep = make_user("sales")
    account = customer_factories.account(owner=rep)
    deal = factories.deal(owner=rep, account=account)
    services.deal_line_add(deal=deal, actor=rep, product=products.product().pk, quantity="4", discount_percent="5")
    quote = order_services.quote_create(actor=rep, lines=[], deal=deal, currency=deal.currency)
    deal.refresh_from_db()
    line = quote.lines.get()
    assert (line.quantity, line.discount_percent) == (Decimal("4"), Decimal("5"))
    assert quote.gross_total == deal.amount
    assert quote.account == account


def test_the_deal_page_adds_a_line_with_htmx_and_shows_the_new_amount(make_user, login):
    """POST with HX-Request answers the lines card and the amount out of band; the detail page lists the line."""
    rep = make_user("sales", language="en")
    deal = factories.deal(owner=rep)
    item = products.product(name="数据平台 Data platform", price=Decimal("1000.00"))
    client = login(rep)
    response = client.post(
        f"/sales/deals/{deal.pk}/lines/", {"product": item.pk, "quantity": "2"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="deal-lines"' in body and 'hx-swap-oob="true"' in body
    assert "2,260.00" in body  # 2 × 1000 + 13 % VAT
    page = client.get(f"/sales/deals/{deal.pk}/").content.decode()
    assert "数据平台 Data platform" in page and "from product lines" in page


def test_the_deal_page_shows_a_line_error_on_its_field(make_user, login):
    rep = make_user("sales", language="en")
    deal = factories.deal(owner=rep)
    client = login(rep)
    response = client.post(
        f"/sales/deals/{deal.pk}/lines/",
        {"product": products.product().pk, "quantity": "0"},
        headers={"HX-Request": "true"},
    )
    assert "The quantity must be more than zero." in response.content.decode()
    assert not DealProduct.objects.filter(deal=deal).exists()


def test_a_quote_page_from_a_deal_is_filled_with_the_deal_lines(make_user, login):
    rep = make_user("sales", language="en")
    deal = factories.deal(owner=rep, account=customer_factories.account(owner=rep))
    item = products.product()
    services.deal_line_add(deal=deal, actor=rep, product=item.pk, quantity="7")
    page = login(rep).get(f"/sales/quotes/new/?deal={deal.pk}").content.decode()
    assert 'name="line-0-quantity" id="line-0-quantity" value="7"' in page


def test_deal_line_api_round_trip_and_scope(make_user, bearer):
    """POST (by SKU) → GET → PATCH → DELETE; a rep outside the deal's scope gets 404; bad input 422 naming it."""
    rep, stranger = make_user("sales"), make_user("sales")
    deal = factories.deal(owner=rep)
    item = products.product(price=Decimal("10.00"), tax_rate=Decimal("0"))
    api = bearer(rep)
    created = api.post(
        f"/api/v1/deals/{deal.pk}/lines", {"sku": item.sku, "quantity": "3", "tax_rate": "0"}, "application/json"
    )
    assert created.status_code == 201, created.content
    line = created.json()
    assert (line["sku"], line["gross_amount"]) == (item.sku, "30.00")
    assert [row["id"] for row in api.get(f"/api/v1/deals/{deal.pk}/lines").json()] == [line["id"]]
    assert api.get(f"/api/v1/deals/{deal.pk}").json()["amount"] == "30.00"
    patched = api.patch(f"/api/v1/deals/{deal.pk}/lines/{line['id']}", {"quantity": "4"}, "application/json")
    assert patched.json()["gross_amount"] == "40.00"
    refused = api.post(f"/api/v1/deals/{deal.pk}/lines", {"product_id": item.pk, "quantity": "-1"}, "application/json")
    assert refused.status_code == 422
    assert "quantity" in str(refused.json())
    assert bearer(stranger).get(f"/api/v1/deals/{deal.pk}/lines").status_code == 404
    assert api.delete(f"/api/v1/deals/{deal.pk}/lines/{line['id']}").status_code == 204
    assert not DealProduct.objects.filter(deal=deal).exists()
