"""In headless Chromium: an agent types a reply and is offered the knowledge-base article that answers it;
a visitor searches the help centre in Chinese, opens the article and says it helped (counted once);
in zh-Hans and English, at 1280 px and 390 px."""

from __future__ import annotations

import pytest

from guanxi.core.demo import DemoSizes
from guanxi.service.kb_demo import kb_demo
from guanxi.service.models import KbArticle

from ..factories import PASSWORD, TeamFactory, UserFactory
from ..service import factories
from .conftest import SHOTS

LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}
REPLY = {"zh-hans": "您好，您忘记密码的话可以这样重置：", "en": "Hello, if you forgot your password you can reset it:"}


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_an_agent_is_offered_an_article_and_a_visitor_finds_one_and_votes(browser, live_server, language):
    team = TeamFactory(name="客服 Service")
    agent = UserFactory(email="agent@example.com", full_name="客服小王", roles=["service"], language=language)
    agent.teams.set([team])
    kb_demo(seed=1, sizes=DemoSizes(customers=10, users=1, teams=1), stdout=None)
    password = KbArticle.objects.get(title_en="Forgot your password? How to reset it")
    queue = factories.queue(name="一线 Tier 1", team=team, agents=[agent], is_default=True)
    ticket = factories.ticket(subject="无法登录 Cannot sign in", email="li.na@kehu.example.cn", queue=queue)
    assert ticket.owner == agent
    SHOTS.mkdir(parents=True, exist_ok=True)

    # the agent types a reply; the password article is suggested under the box
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "agent@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.locator("textarea[name=body]").press_sequentially(REPLY[language], delay=10)
    page.wait_for_selector(f"#kb-suggestions [data-suggested='{password.pk}']")
    assert page.locator("#kb-suggestions [data-suggested]").count() <= 5
    page.locator("#kb-suggestions").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"kb-suggest-{language}-desktop.png"), full_page=True)

    # the staff knowledge base, searched
    page.goto(f"{live_server.url}/kb/?q=发票")
    assert page.get_attribute("html", "lang") == language
    assert page.locator("#kb-results [data-article]").count() >= 2
    page.screenshot(path=str(SHOTS / f"kb-list-{language}-desktop.png"), full_page=True)
    page.click("#kb-results [data-article] >> nth=0")
    page.wait_for_selector("[data-kb-body]")
    page.screenshot(path=str(SHOTS / f"kb-article-{language}-desktop.png"), full_page=True)

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{live_server.url}/kb/")
    assert fits_the_width(phone), "no sideways scrolling at 390 px"
    phone.screenshot(path=str(SHOTS / f"kb-list-{language}-phone.png"), full_page=True)
    phone.close()

    # a visitor (no sign-in) searches the help centre in Chinese, opens the answer and votes "yes"
    for width, device in ((1280, "desktop"), (390, "phone")):
        options = {"is_mobile": True, "has_touch": True} if device == "phone" else {}
        visitor = browser.new_page(viewport={"width": width, "height": 900}, locale=LOCALES[language], **options)
        visitor.goto(f"{live_server.url}/help/")
        assert visitor.get_attribute("html", "lang") == language
        assert visitor.locator("text=【内部】").count() == 0 and visitor.locator("text=[Internal]").count() == 0
        visitor.fill("input[name=q]", "忘记密码怎么办")
        visitor.press("input[name=q]", "Enter")
        visitor.wait_for_selector(f"#help-results [data-article='{password.pk}']")
        assert visitor.locator("#help-results [data-article]").first.get_attribute("data-article") == str(password.pk)
        assert fits_the_width(visitor), "no sideways scrolling"
        visitor.screenshot(path=str(SHOTS / f"kb-help-search-{language}-{device}.png"), full_page=True)
        before = KbArticle.objects.get(pk=password.pk).helpful_count
        visitor.click(f"#help-results [data-article='{password.pk}']")
        visitor.wait_for_selector("[data-article-title]")
        visitor.click("[data-vote=yes]")
        visitor.wait_for_selector("#kb-vote[data-voted=yes]")
        visitor.reload()
        assert visitor.locator("#kb-vote[data-voted=yes]").count() == 1, "the answer stays for the session"
        assert KbArticle.objects.get(pk=password.pk).helpful_count == before + 1
        assert fits_the_width(visitor), "no sideways scrolling"
        visitor.screenshot(path=str(SHOTS / f"kb-help-article-{language}-{device}.png"), full_page=True)
        visitor.close()

    # the public support form suggests articles before the visitor sends the request
    visitor = browser.new_page(viewport={"width": 390, "height": 844}, locale=LOCALES[language], is_mobile=True)
    visitor.goto(f"{live_server.url}/support/")
    visitor.locator("input[name=subject]").press_sequentially("发票开错了", delay=10)
    visitor.wait_for_selector("#kb-suggestions [data-suggested]")
    assert fits_the_width(visitor)
    visitor.screenshot(path=str(SHOTS / f"kb-support-form-{language}-phone.png"), full_page=True)
    visitor.close()
