"""In headless Chromium: an agent answers one ticket inside its SLA with a canned reply, while another
ticket breaches and is escalated by the sweep; in zh-Hans and English, at 1280 px and 390 px."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from guanxi.service import services

from ..factories import PASSWORD, TeamFactory, UserFactory
from ..service import factories
from .conftest import SHOTS


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_an_agent_answers_in_time_while_another_ticket_breaches_and_escalates(browser, live_server, language):
    team = TeamFactory(name="客服 Service")
    agent = UserFactory(email="agent@example.com", full_name="客服小王", roles=["service"], language=language)
    agent.teams.set([team])
    senior = UserFactory(email="senior@example.com", full_name="主管老李", roles=["service"])
    senior.teams.set([team])
    tier1 = factories.queue(name="一线 Tier 1", team=team, agents=[agent], is_default=True)
    tier2 = factories.queue(name="二线 Tier 2", team=team, agents=[senior])
    always = factories.calendar(hours={str(d): [["00:00", "24:00"]] for d in range(7)})
    factories.policy(cal=always, name="标准 Standard", first_response_minutes=60, resolution_minutes=480,
                     raise_priority=True, escalate_queue=tier2)  # fmt: skip
    services.canned_response_save(
        actor=None, title="问候 Greeting", body="{customer_name}您好，{ticket_number} 已处理。"
    )
    fresh = factories.ticket(subject="打印机无法连接 Printer offline", email="li.na@kehu.example.cn", name="李娜",
                             queue=tier1)  # fmt: skip
    late = factories.ticket(subject="发票错误 Wrong invoice", email="zhao@kehu.example.cn", queue=tier1,
                            opened_at=timezone.now() - timedelta(hours=3))  # fmt: skip
    assert fresh.owner == agent and late.owner == agent
    SHOTS.mkdir(parents=True, exist_ok=True)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "agent@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/tickets/")
    assert page.get_attribute("html", "lang") == language
    assert page.locator(f"[data-ticket='{fresh.pk}'] [data-sla-state=ok]").count() == 1
    assert page.locator(f"[data-ticket='{late.pk}'] [data-sla-state=breached]").count() == 1
    page.screenshot(path=str(SHOTS / f"service-queue-{language}-desktop.png"), full_page=True)

    # the fresh ticket is answered with the canned reply, inside its SLA
    page.click(f"[data-ticket='{fresh.pk}']")
    page.wait_for_url(f"**/tickets/{fresh.pk}/")
    page.select_option("#canned-pick", label="问候 Greeting")
    assert page.input_value("textarea[name=body]") == f"李娜您好，T-{fresh.pk} 已处理。"
    page.click("form[action$='/reply/'] [type=submit]")
    page.wait_for_load_state()
    fresh.refresh_from_db()
    assert fresh.first_response_at is not None and fresh.first_response_at <= fresh.first_response_due
    assert fresh.status == "open"
    page.click("[data-set-status=resolved]")
    page.wait_for_load_state()
    assert page.locator("[data-status=resolved]").count() == 1
    page.screenshot(path=str(SHOTS / f"service-ticket-{language}-desktop.png"), full_page=True)

    # the worker's sweep escalates the late one: priority raised, moved to tier 2, marked breached
    assert services.sla_sweep() == {"warned": 0, "breached": 1}
    late.refresh_from_db()
    assert late.priority == "high" and late.queue == tier2 and late.breached_at is not None
    page.goto(f"{live_server.url}/tickets/?tab=breached")
    assert page.locator(f"[data-ticket='{late.pk}']").count() == 1

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{live_server.url}/tickets/?tab=breached")
    assert fits_the_width(phone), "no sideways scrolling at 390 px"
    phone.screenshot(path=str(SHOTS / f"service-breached-{language}-phone.png"), full_page=True)
    phone.goto(f"{live_server.url}/tickets/{late.pk}/")
    assert phone.locator("[data-breached]").count() == 1 and phone.locator("[data-priority=high]").count() == 1
    assert fits_the_width(phone)
    phone.screenshot(path=str(SHOTS / f"service-ticket-{language}-phone.png"), full_page=True)
