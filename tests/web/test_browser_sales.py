"""In headless Chromium: a rep drags deals across the kanban (one move refused and snapped back), then opens
the funnel and forecast, in Chinese and English, at desktop and phone width."""

from __future__ import annotations

import pytest

from guanxi.sales.models import Deal

from ..factories import PASSWORD, TeamFactory, UserFactory
from ..sales import factories
from .conftest import SHOTS

CASES = [("zh-hans", 1280), ("en", 1280), ("zh-hans", 390), ("en", 390)]


def drag(page, card, target) -> None:
    """Press on the card, move in steps onto the target column and let go (SortableJS pointer mode)."""
    card.scroll_into_view_if_needed()
    start = card.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 10)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 5, start["y"] + 15, steps=3)
    target.scroll_into_view_if_needed()
    end = target.bounding_box()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + min(20, end["height"] / 2), steps=12)
    page.wait_for_timeout(150)
    page.mouse.up()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("language", "width"), CASES)
def test_a_rep_drags_deals_across_stages_and_sees_funnel_and_forecast(browser, live_server, language, width):
    team = TeamFactory()
    rep = UserFactory(email="rep@example.com", full_name="李娜", roles=["sales"], language=language, teams=[team])
    pipeline = factories.pipeline(name="新业务 New business", default=True)
    factories.lost_reason()
    first, second, quoted = (factories.stage(pipeline, i) for i in range(3))
    ready = factories.deal(owner=rep, pipeline=pipeline, name="云平台 Cloud platform", amount="120000")
    no_amount = factories.deal(owner=rep, pipeline=pipeline, name="培训 Training")
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = f"{language}-{'desktop' if width > 1000 else 'phone'}"

    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "rep@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/sales/pipelines/{pipeline.pk}/board/")
    assert page.get_attribute("html", "lang") == language
    page.wait_for_function("() => !!document.querySelector('#board .gx-deal')")

    # a move the stage allows: the card lands in the next column and the counts follow
    with page.expect_response(lambda r: "/move/" in r.url) as moved:
        drag(page, page.locator(f"[data-deal-id='{ready.pk}']"), page.locator(f"#col-{second.pk}"))
    assert moved.value.status == 200
    page.wait_for_function(f"() => document.querySelector('[data-count=\"{second.pk}\"]').textContent.trim() === '1'")
    assert page.locator(f"#col-{second.pk} [data-deal-id='{ready.pk}']").count() == 1
    ready.refresh_from_db()
    assert ready.stage == second

    # a move the stage refuses (the quote stage requires an amount): the card snaps back, the reason shows
    with page.expect_response(lambda r: "/move/" in r.url) as refused:
        drag(page, page.locator(f"[data-deal-id='{no_amount.pk}']"), page.locator(f"#col-{quoted.pk}"))
    assert refused.value.status == 422
    error = page.locator("#board-error")
    error.wait_for(state="visible")
    assert quoted.name in error.inner_text()
    assert page.locator(f"#col-{first.pk} [data-deal-id='{no_amount.pk}']").count() == 1
    assert Deal.objects.get(pk=no_amount.pk).stage == first
    page.screenshot(path=str(SHOTS / f"sales-board-{shot}.png"), full_page=True)

    page.goto(f"{live_server.url}/sales/reports/?pipeline={pipeline.pk}")
    page.wait_for_selector("#chart-funnel canvas")
    page.wait_for_selector("#chart-forecast canvas")
    assert page.locator("#funnel-table tbody tr").count() == 6
    if width <= 400:
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "no sideways scroll"
    page.screenshot(path=str(SHOTS / f"sales-reports-{shot}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("language", "width"), CASES)
def test_a_rep_adds_product_lines_and_a_custom_field_to_a_deal(browser, live_server, language, width):
    """The deal page: a custom field filled in the deal form shows on the page; two product lines added and one
    changed in place (htmx) make the deal's amount their gross total without a page load; a bad quantity is
    refused on its field."""
    from guanxi.core import services as core_services
    from guanxi.sales.models import DealProduct

    from ..sales import order_factories

    admin = UserFactory(email="admin@example.com", roles=["administrator"])
    rep = UserFactory(email="rep@example.com", full_name="李娜", roles=["sales"], language=language)
    core_services.custom_field_create(
        actor=admin,
        record_type="deal",
        key="contract_type",
        label="合同类型",
        label_en="Contract type",
        kind="choice",
        choices=[{"value": "annual", "label": "年度 Annual"}, {"value": "project", "label": "项目 Project"}],
    )
    pipeline = factories.pipeline(name="新业务 New business", default=True)
    deal = factories.deal(owner=rep, pipeline=pipeline, name="云平台 Cloud platform")
    server = order_factories.product(name="云服务器 Cloud server", price="12000.00")
    service = order_factories.product(name="实施服务 Implementation", price="3000.00", tax_rate="6")
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = f"{language}-{'desktop' if width > 1000 else 'phone'}"

    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "rep@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/sales/deals/{deal.pk}/edit/")
    page.select_option("select[name=custom_contract_type]", "annual")
    page.fill("input[name=tags]", "重点 key")
    page.click("form.card .card-footer [type=submit]")
    page.wait_for_url(f"{live_server.url}/sales/deals/{deal.pk}/")
    assert "年度 Annual" in page.inner_text("body")

    add = page.locator("#deal-line-add")
    add.locator("select[name=product]").select_option(str(server.pk))
    add.locator("input[name=quantity]").fill("2")
    add.locator("input[name=discount_percent]").fill("10")
    with page.expect_response(lambda r: "/lines/" in r.url):
        add.locator("[type=submit]").click()
    page.wait_for_function("() => document.querySelectorAll('.gx-deal-line').length === 1")
    # 2 × 12000 × 0.9 = 21600 net + 13 % VAT = 24408, swapped in out of band without a page load
    assert "24408.00" in page.inner_text("#deal-amount").replace(",", "")  # zh-hans groups no digits

    add = page.locator("#deal-line-add")
    add.locator("select[name=product]").select_option(str(service.pk))
    add.locator("input[name=quantity]").fill("-1")
    with page.expect_response(lambda r: "/lines/" in r.url):
        add.locator("[type=submit]").click()
    page.locator("#deal-line-add .invalid-feedback").wait_for(state="visible")
    add = page.locator("#deal-line-add")
    add.locator("input[name=quantity]").fill("1")
    with page.expect_response(lambda r: "/lines/" in r.url):
        add.locator("[type=submit]").click()
    page.wait_for_function("() => document.querySelectorAll('.gx-deal-line').length === 2")
    # + 3000 net + 6 % VAT = 3180
    assert "27588.00" in page.inner_text("#deal-amount").replace(",", "")
    assert DealProduct.objects.filter(deal=deal).count() == 2
    if width <= 400:
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "no sideways scroll"
    page.screenshot(path=str(SHOTS / f"sales-deal-lines-{shot}.png"), full_page=True)
