"""In headless Chromium, issue 5's quote flow: build a quote with two lines on the customer's page, download its
PDF (a real PDF naming the customer), accept it, and find the order on the customer page — in Chinese and in
English, at desktop and phone width."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from guanxi.sales.models import Order, Quote

from ..customers import factories as customers
from ..factories import PASSWORD, UserFactory
from ..sales import order_factories as f
from .conftest import SHOTS
from .test_browser import fits_the_width


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_url(f"{base}/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("width", [1280, 390])
def test_build_a_quote_download_the_pdf_and_accept_it_into_an_order(browser, live_server, language, width):
    SHOTS.mkdir(parents=True, exist_ok=True)
    f.defaults()
    rep = UserFactory(email=f"rep-{language}-{width}@example.com", full_name="周杰", roles=["sales"], language=language)
    account = customers.account(owner=rep, name="苏州工业园区精密制造有限公司")
    server = f.product(sku="HW-SRV", name="机架服务器 Rack server", price=Decimal("36500.00"))
    support = f.product(sku="SVC-SUP", name="支持服务 Support", price=Decimal("9600.00"), tax_rate=Decimal("6"))
    base = live_server.url
    phone = width < 500
    context = browser.new_context(
        viewport={"width": width, "height": 900}, is_mobile=phone, has_touch=phone, accept_downloads=True
    )
    page = context.new_page()
    _sign_in(page, base, rep.email)

    page.goto(f"{base}/accounts/{account.pk}/")
    page.click("#customer-new-quote")
    page.wait_for_url(f"{base}/sales/quotes/new/*")
    page.select_option("select[name=line-0-product]", str(server.pk))
    assert page.input_value("input[name=line-0-unit_price]") == "36500.00", "the price is prefilled"
    page.fill("input[name=line-0-quantity]", "2")
    page.select_option("select[name=line-1-product]", str(support.pk))
    page.fill("input[name=line-1-discount_percent]", "10")
    page.screenshot(path=str(SHOTS / f"quote-form-{language}-{width}.png"), full_page=True)
    assert fits_the_width(page)
    page.click("#document-form button[type=submit]")
    page.wait_for_url(f"{base}/sales/quotes/*/")
    quote = Quote.objects.get()
    assert quote.lines.count() == 2
    # 2 × 36 500 = 73 000 + 13 % (9 490) ; 9 600 less 10 % = 8 640 + 6 % (518.40)
    assert quote.gross_total == Decimal("91648.40")
    assert "91648.40" in page.inner_text("#gross-total").replace(",", "")
    page.screenshot(path=str(SHOTS / f"quote-detail-{language}-{width}.png"), full_page=True)
    assert fits_the_width(page)

    with page.expect_download() as download_info:
        page.click("#quote-pdf")
    pdf = download_info.value.path().read_bytes()
    assert pdf.startswith(b"%PDF-")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert account.name in text, "the PDF names the customer"
    # the quote is in the rep's language: its dates are written the Chinese way (…年…月…日) or the English way
    # (the labels' Chinese translations arrive with the integrator's catalogue update)
    assert ("年" in text) == (language == "zh-hans"), "the PDF is in the quote's language"

    page.click("#quote-accept")
    page.wait_for_url(f"{base}/sales/orders/*/")
    order = Order.objects.get()
    assert order.quote_id == quote.pk and order.gross_total == quote.gross_total
    page.goto(f"{base}/accounts/{account.pk}/")
    assert order.number in page.inner_text("#customer-orders"), "the order appears on the customer page"
    page.screenshot(path=str(SHOTS / f"quote-order-on-account-{language}-{width}.png"), full_page=True)
    assert fits_the_width(page)
    context.close()
