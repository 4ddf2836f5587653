"""In headless Chromium: sign in, switch language, and look at the home page at desktop and phone width."""

from __future__ import annotations

import pytest

from ..customers import factories as customers
from ..factories import PASSWORD, UserFactory
from .conftest import SHOTS


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_sign_in_switch_language_and_see_home_on_desktop_and_phone(browser, live_server):
    UserFactory(email="admin@example.com", full_name="王芳", roles=["administrator"], language="")
    SHOTS.mkdir(parents=True, exist_ok=True)

    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    page.fill("input[name=username]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert "王芳" in page.content()
    page.screenshot(path=str(SHOTS / "home-zh-hans-desktop.png"), full_page=True)

    page.locator(".dropdown:has(button[name=language]) > a").first.click()
    page.click("button[name=language][value=en]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "en"
    assert "Home" in page.inner_text("nav, header")
    page.screenshot(path=str(SHOTS / "home-en-desktop.png"), full_page=True)

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{live_server.url}/")
    assert phone.get_attribute("html", "lang") == "en", "the language is remembered for the user"
    assert fits_the_width(phone), "no sideways scrolling at 390 px"
    phone.screenshot(path=str(SHOTS / "home-en-phone.png"), full_page=True)
    phone.locator(".navbar-toggler").first.click()
    phone.wait_for_timeout(400)
    assert phone.locator("a[href='/jobs/']").first.is_visible(), "the collapsed menu opens on a phone"
    phone.screenshot(path=str(SHOTS / "menu-en-phone.png"))


PAGES = [
    "/",
    "/notifications/",
    "/jobs/",
    "/account/tokens/",
    "/account/password/",
    "/settings/users/",
    "/settings/teams/",
    "/settings/roles/",
    "/settings/audit/",
    "/contacts/",
    "/accounts/",
    "/leads/",
    "/customers/search/?q=zw",
    "/contacts/{contact}/",
    "/accounts/{account}/",
    "/leads/{lead}/",
    "/contacts/new/",
    "/contacts/{contact}/interactions/new/",
    "/tasks/",
    "/data-quality/",
    "/data-quality/?type=account",
    "/settings/data-quality/",
]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
def test_every_page_fits_a_phone_and_a_desktop_in_each_language(browser, live_server, language):
    from guanxi.core.services import team_create

    admin = UserFactory(email=f"{language}@example.com", full_name="陳美玲", roles=["administrator"], language=language)
    team_create(name="華東銷售 East China Sales", actor=admin, members=[admin], manager=admin)
    firm = customers.account(actor=admin, name="上海云帆科技有限公司", registration_number="310115000123456")
    person = customers.contact(actor=admin, surname="张", given_name="伟", phone="138 0013 8000")
    prospect = customers.lead(actor=admin, company_name="Acme Trading Co., Ltd.", surname="Smith", given_name="Anna")
    records = {"contact": person.pk, "account": firm.pk, "lead": prospect.pk}
    from datetime import timedelta

    from django.utils import timezone

    from guanxi.customers.services import interaction_log

    interaction_log(
        actor=admin,
        about=person,
        kind="call",
        channel="phone",
        direction="outbound",
        occurred_at=timezone.now(),
        duration=12,
        subject="报价跟进 Quote follow-up",
        outcome="约好下周拜访",
    )
    interaction_log(
        actor=admin,
        about=person,
        kind="task",
        subject="发送合同 Send the contract",
        due_at=timezone.now() + timedelta(days=2),
        assignee=admin,
    )
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    for width, height, name in [(1280, 800, "desktop"), (390, 844, "phone")]:
        page.set_viewport_size({"width": width, "height": height})
        for path in PAGES:
            page.goto(f"{live_server.url}{path.format(**records)}")
            assert page.get_attribute("html", "lang") == language
            assert fits_the_width(page), f"{path} scrolls sideways at {width}px in {language}"
            slug = path.split("?")[0].strip("/").replace("/", "-").replace("{", "").replace("}", "") or "home"
            page.screenshot(path=str(SHOTS / f"{slug}-{language}-{name}.png"), full_page=True)
    assert errors == []
    context.close()
