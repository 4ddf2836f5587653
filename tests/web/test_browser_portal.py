"""In headless Chromium, the customer portal end to end: a customer signs in with an emailed magic link,
is offered a knowledge-base article while writing a ticket, submits it, an agent answers it in the staff
pages, the customer sees the answer, and leaves feedback; in zh-Hans and English, at 1280 px and 390 px
(screenshots under test-results/screenshots)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail

from guanxi.core.demo import DemoSizes
from guanxi.feedback.models import FeedbackItem
from guanxi.service import portal
from guanxi.service.kb_demo import kb_demo
from guanxi.service.models import KbArticle, Ticket

from ..customers import factories as customer_factories
from ..factories import PASSWORD, TeamFactory, UserFactory
from ..service import factories
from .conftest import SHOTS

LINK = re.compile(r"/portal/sign-in/([^/\s]+)/")


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_customer_signs_in_by_link_submits_a_ticket_sees_the_answer_and_leaves_feedback(
    browser, live_server, language
):
    team = TeamFactory(name="客服 Service")
    agent = UserFactory(email="agent@example.com", full_name="客服小王", roles=["service"], language=language)
    agent.teams.set([team])
    factories.queue(name="一线 Tier 1", team=team, agents=[agent], is_default=True)
    factories.policy(cal=factories.calendar(hours={str(d): [["00:00", "24:00"]] for d in range(7)}))
    company = customer_factories.account(name="华为科技 Huawei")
    li = customer_factories.contact(surname="李", given_name="娜", email="li.na@kehu.example.cn",
                                    accounts=[(company, "采购")], owner=agent)  # fmt: skip
    portal.portal_invite(contact=li, actor=agent, language=language)
    mail.outbox.clear()
    kb_demo(seed=1, sizes=DemoSizes(customers=10, users=1, teams=1), stdout=None)
    wrong_invoice = KbArticle.objects.get(title_en="The invoice details are wrong")
    SHOTS.mkdir(parents=True, exist_ok=True)

    # the customer asks for a sign-in link and follows it from the email
    customer = browser.new_context(viewport={"width": 1280, "height": 900})
    customer.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
    page = customer.new_page()
    page.goto(f"{live_server.url}/portal/")
    assert page.get_attribute("html", "lang") == language
    page.screenshot(path=str(SHOTS / f"portal-sign-in-{language}-desktop.png"), full_page=True)
    page.fill("input[name=email]", "li.na@kehu.example.cn")
    page.click("[data-testid=portal-sign-in]")
    page.wait_for_selector("[data-testid=link-sent]")
    link = LINK.search(mail.outbox[-1].body)
    assert link is not None and mail.outbox[-1].to == ["li.na@kehu.example.cn"]
    page.goto(f"{live_server.url}{link.group(0)}")
    page.click("[data-testid=portal-link-confirm]")
    page.wait_for_url(f"{live_server.url}/portal/tickets/")
    page.screenshot(path=str(SHOTS / f"portal-empty-{language}-desktop.png"), full_page=True)

    # … is offered the knowledge-base article that answers it while writing, and submits the ticket anyway
    page.click("[data-testid=portal-new-ticket]")
    page.locator("input[name=subject]").press_sequentially("发票抬头错误 Wrong invoice title", delay=10)
    page.wait_for_selector(f"#kb-suggestions [data-suggested='{wrong_invoice.pk}']")
    page.screenshot(path=str(SHOTS / f"portal-new-ticket-{language}-desktop.png"), full_page=True)
    page.fill("textarea[name=body]", "发票抬头应为华为科技有限公司。The invoice title should be Huawei Technologies.")
    page.click("[data-testid=portal-ticket-form] [type=submit]")
    page.wait_for_url(re.compile(r".*/portal/tickets/\d+/$"))
    ticket = Ticket.objects.get()
    assert ticket.channel == "portal" and ticket.contact == li and ticket.owner == agent

    # an agent answers it in the staff pages
    staff = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    staff.goto(f"{live_server.url}/login/")
    staff.fill("input[name=username]", "agent@example.com")
    staff.fill("input[name=password]", PASSWORD)
    staff.click("form [type=submit]")
    staff.wait_for_url(f"{live_server.url}/")
    staff.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    assert staff.locator("[data-testid=portal-access] [data-portal-state=active]").count() == 1
    staff.fill("textarea[name=body]", "已为您重开发票，请查收。We have reissued the invoice.")
    staff.click("form[action$='/reply/'] [type=submit]")
    staff.wait_for_load_state()
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None and ticket.first_response_at <= ticket.first_response_due

    # the customer sees the answer
    page.reload()
    answer = page.locator("[data-from=agent]")
    assert answer.count() == 1 and "已为您重开发票" in answer.inner_text()
    page.screenshot(path=str(SHOTS / f"portal-ticket-{language}-desktop.png"), full_page=True)
    page.goto(f"{live_server.url}/portal/tickets/")
    assert page.locator(f"[data-ticket='{ticket.pk}'] [data-status=open]").count() == 1
    page.screenshot(path=str(SHOTS / f"portal-tickets-{language}-desktop.png"), full_page=True)

    # … and leaves feedback, which earns points
    page.goto(f"{live_server.url}/portal/feedback/")
    page.click("[data-testid=portal-new-feedback]")
    page.select_option("select[name=kind]", "praise")
    page.fill("textarea[name=text]", "客服回复很快，非常满意！Quick and helpful answer.")
    page.click("[data-testid=portal-feedback-form] [type=submit]")
    page.wait_for_url(f"{live_server.url}/portal/feedback/")
    item = FeedbackItem.objects.get()
    assert item.channel == "portal" and item.contact == li
    assert page.locator(f"[data-feedback='{item.pk}']").count() == 1
    page.screenshot(path=str(SHOTS / f"portal-feedback-{language}-desktop.png"), full_page=True)
    page.goto(f"{live_server.url}/portal/points/")
    assert page.locator("[data-testid=portal-points-balance]").inner_text().strip() == "10"
    page.screenshot(path=str(SHOTS / f"portal-points-{language}-desktop.png"), full_page=True)

    # the same pages at phone width
    phone_context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone_context.add_cookies(customer.cookies())
    phone = phone_context.new_page()
    for name, path in [
        ("tickets", "/portal/tickets/"),
        ("ticket", f"/portal/tickets/{ticket.pk}/"),
        ("new-ticket", "/portal/tickets/new/"),
        ("feedback", "/portal/feedback/"),
        ("points", "/portal/points/"),
    ]:
        phone.goto(f"{live_server.url}{path}")
        assert phone.get_attribute("html", "lang") == language
        assert fits_the_width(phone), f"no sideways scrolling at 390 px on {path}"
        phone.screenshot(path=str(SHOTS / f"portal-{name}-{language}-phone.png"), full_page=True)
    signed_out = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    signed_out.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
    sign_in = signed_out.new_page()
    sign_in.goto(f"{live_server.url}/portal/sign-in/")
    assert fits_the_width(sign_in)
    sign_in.screenshot(path=str(SHOTS / f"portal-sign-in-{language}-phone.png"), full_page=True)
