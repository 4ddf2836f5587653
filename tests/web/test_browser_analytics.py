"""In headless Chromium, issue 9's "done when": a manager opens the executive dashboard, drills down from a
number to the orders behind it, and opens a customer profile with predicted value and churn reasons —
in Chinese and in English, at desktop and phone width. Also the widget exports (PNG from the chart, CSV,
the dashboard PDF), the heat map, the marketing dashboard, the journey page and the profile button on a
contact page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from guanxi.analytics import kpis, services
from guanxi.analytics.models import CustomerScore

from ..analytics import factories
from ..customers import factories as customer_factories
from ..factories import PASSWORD, TeamFactory, UserFactory
from .conftest import SHOTS
from .test_browser import fits_the_width


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_url(f"{base}/")


def _fits(page, width: int) -> bool:
    """Nothing wider than the screen. At desktop width only the page body is checked: the shared top menu,
    with every app's entries in English, is already wider than 1280 px (left to the integrator)."""
    if width < 500:
        return fits_the_width(page)
    return page.evaluate(
        "[...document.querySelectorAll('.page-body *')].every(e => e.getBoundingClientRect().right <= innerWidth + 1)"
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_manager_drills_from_the_dashboard_to_a_customer_profile(browser, live_server, language):
    SHOTS.mkdir(parents=True, exist_ok=True)
    manager = UserFactory(
        email="boss@example.com", full_name="陳美玲", roles=["manager"], language=language, teams=[TeamFactory()]
    )
    factories.history(customers=40, seed=5, owner=manager, team=manager.teams.first())
    services.scores_refresh(asof=timezone.localdate() - timedelta(days=1), actor=manager)
    this = kpis.month_start(timezone.localdate())
    last = kpis.month_start(this - timedelta(days=1))
    contact = CustomerScore.objects.exclude(contact=None).first().contact
    noon = timezone.make_aware(timezone.datetime.combine(last, timezone.datetime.min.time())) + timedelta(hours=10)
    for i in range(12):  # calls on weekday mornings: the heat map's cells
        customer_factories.interaction(about=contact, actor=manager, occurred_at=noon + timedelta(days=i, hours=i % 4))
    newcomer = customer_factories.contact(owner=manager, team=manager.teams.first())
    customer_factories.interaction(about=newcomer, actor=manager, occurred_at=timezone.now() - timedelta(days=5))
    factories.order(customer=newcomer, at=timezone.now() - timedelta(days=2), total=300)  # converted after a call
    kpis.kpis_refresh(months=[kpis.month_start(last - timedelta(days=1)), last, this])
    base = live_server.url

    for width, height, name in ((1280, 900, "desktop"), (390, 844, "phone")):
        page = browser.new_page(
            viewport={"width": width, "height": height}, is_mobile=width < 500, has_touch=width < 500
        )
        _sign_in(page, base, "boss@example.com")
        page.goto(f"{base}/analytics/?month={last:%Y-%m}")
        page.wait_for_selector("#chart-trend canvas")
        assert page.locator("#kpi-numbers .kpi-value").count() >= 6, "the executive numbers are shown"
        page.wait_for_selector("#chart-heat canvas")
        page.screenshot(path=str(SHOTS / f"analytics-dashboard-{language}-{name}.png"), full_page=True)
        assert _fits(page, width)
        with page.expect_download() as png:
            page.click("[data-png=chart-heat]")
        assert png.value.suggested_filename.endswith("-heatmap-" + f"{last:%Y-%m}.png")
        assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "the chart as a PNG image"
        with page.expect_download() as table:
            page.click("a[data-csv=heatmap]")
        assert Path(table.value.path()).read_text(encoding="utf-8-sig").count("\n") == 8, "header + 7 weekdays"
        with page.expect_download() as pdf:
            page.click("#dashboard-pdf")
        assert Path(pdf.value.path()).read_bytes()[:5] == b"%PDF-"

        page.click("#kpi-numbers a[data-kpi=revenue]")
        page.wait_for_selector("#drill-table")
        assert page.locator("#drill-table tbody tr").count() > 0, "the orders behind the revenue figure"
        assert _fits(page, width)
        page.screenshot(path=str(SHOTS / f"analytics-drill-{language}-{name}.png"), full_page=True)

        score = (
            CustomerScore.objects.filter(churn_risk__isnull=False, clv__isnull=False)
            .exclude(churn_factors=[])
            .order_by("-churn_risk")
            .first()
        )
        page.goto(f"{base}{score.get_absolute_url()}")
        page.wait_for_selector("#profile")
        assert page.locator("#p-clv").inner_text().startswith("¥")
        assert page.locator("#p-reasons li").count() >= 1, "churn reasons are listed"
        # the page is served in the user's language (the new strings get their Chinese when the integrator
        # updates the catalogues)
        assert (page.locator("html").get_attribute("lang") or "").lower().startswith(language[:2])
        assert _fits(page, width)
        page.screenshot(path=str(SHOTS / f"analytics-profile-{language}-{name}.png"), full_page=True)

        page.goto(f"{base}{contact.get_absolute_url()}")
        page.click("#customer-profile-link")
        page.wait_for_selector("#profile")

        page.goto(f"{base}/analytics/?role=marketing&month={last:%Y-%m}")
        page.wait_for_selector("#chart-trend canvas")
        assert page.locator("#kpi-numbers a[data-kpi=retention_rate]").count() == 1, "the marketing dashboard"
        assert _fits(page, width)
        page.screenshot(path=str(SHOTS / f"analytics-marketing-{language}-{name}.png"), full_page=True)

        page.goto(f"{base}/analytics/journey/")
        page.wait_for_selector("#chart-stages canvas")
        assert page.locator("#stage-table tbody tr").count() == 5
        assert page.locator("#touch-kinds tbody tr").count() >= 1, "the calls before first orders"
        assert _fits(page, width)
        page.screenshot(path=str(SHOTS / f"analytics-journey-{language}-{name}.png"), full_page=True)
        page.close()
