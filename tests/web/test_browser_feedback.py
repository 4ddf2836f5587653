"""In headless Chromium, the feedback issue's "done when": a customer leaves feedback in the portal, it is
classified and routed with a deadline, escalated when late, resolved, the customer is told and rates the
resolution in the portal and sees the points earned; an NPS survey goes out by trigger and a detractor answer
becomes a follow-up — in Chinese and in English, at desktop and phone width."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from guanxi.core.events import events_dispatch_batch
from guanxi.feedback import classifier, services
from guanxi.feedback.models import FeedbackItem, RoutingRule, Survey
from guanxi.service import portal

from ..customers import factories as customer_factories
from ..factories import PASSWORD, TeamFactory, UserFactory
from .conftest import SHOTS
from .test_browser import fits_the_width

TEXT = {
    "zh-hans": "快递太慢了，等了一个星期才到，包裹还压坏了",
    "en": "The delivery took two weeks and the box was damaged",
}
LOCALE = {"zh-hans": "zh-CN", "en": "en-US"}


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_url(f"{base}/")


def _link(prefix: str) -> str:
    for message in reversed(mail.outbox):
        found = re.search(rf"http://[^\s]+{prefix}[^\s]+/", message.body)
        if found:
            return found.group(0).split("://", 1)[1].split("/", 1)[1]
    raise AssertionError(f"no {prefix} link was emailed")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_feedback_loop_and_nps_follow_up(browser, live_server, language):
    SHOTS.mkdir(parents=True, exist_ok=True)
    classifier.model_for("topic"), classifier.model_for("sentiment")  # loaded once, before the page waits on it
    base = live_server.url
    agent = UserFactory(email="agent@example.com", full_name="周静", roles=["service"], language=language)
    manager = UserFactory(email="boss@example.com", full_name="Li Boss", roles=["manager"], language=language)
    service_team = TeamFactory(name="客服 Service", manager=manager)
    agent.teams.set([service_team])  # the manager sees the team's feedback and hears of its late items
    RoutingRule.objects.create(name="投诉", kind="complaint", owner=agent, response_hours=4)
    customer = customer_factories.contact(owner=agent, surname="林", given_name="晓", email="lin.xiao@example.cn")
    Survey.objects.create(name="NPS 回访", kind="nps", question=services.default_question("nps"), trigger="resolved")

    # 1. the customer signs in to the portal (phone width) from the emailed link and leaves feedback there
    portal.portal_invite(contact=customer, actor=agent, language=language)
    visitor = browser.new_page(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale=LOCALE[language]
    )
    visitor.set_default_timeout(120_000)  # the first classification loads the models in the live server
    visitor.goto(f"{base}/f/feedback/")  # the public form too (its submission is covered in tests/feedback)
    assert fits_the_width(visitor)
    visitor.screenshot(path=str(SHOTS / f"feedback-public-form-{language}-phone.png"), full_page=True)
    visitor.goto(f"{base}/{_link('/portal/sign-in/')}")
    visitor.click("[data-testid=portal-link-confirm]")
    visitor.wait_for_url(f"{base}/portal/tickets/")
    visitor.goto(f"{base}/portal/feedback/new/")
    assert visitor.get_attribute("html", "lang") == language
    visitor.select_option("select[name=kind]", "complaint")
    visitor.fill("textarea[name=text]", TEXT[language])
    visitor.screenshot(path=str(SHOTS / f"feedback-portal-form-{language}-phone.png"), full_page=True)
    visitor.click("[data-testid=portal-feedback-form] [type=submit]")
    visitor.wait_for_url(f"{base}/portal/feedback/")
    item = FeedbackItem.objects.get()
    assert item.channel == "portal" and item.contact == customer
    assert item.topic is not None and item.topic.key == "delivery"
    assert item.owner == agent and item.response_due_at is not None

    # 2. the agent sees it classified and routed with a deadline; it is escalated when late
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    _sign_in(page, base, agent.email)
    page.goto(f"{base}/feedback/")
    page.click(f"a[href='/feedback/{item.pk}/']")
    assert agent.full_name in page.inner_text("[data-testid=owner]")
    assert page.inner_text("[data-testid=deadline]").strip()
    services.feedback_deadlines_check(now=timezone.now() + timedelta(hours=5))  # what the beat task runs
    page.reload()
    assert FeedbackItem.objects.get().escalated_at is not None
    assert page.locator("[data-testid=escalated]").count() == 1
    page.screenshot(path=str(SHOTS / f"feedback-item-escalated-{language}-desktop.png"), full_page=True)

    # 3. resolve, tell the customer, close
    page.fill("#resolution", "已补发新包裹 / We re-sent a new parcel")
    page.click("form[action$='/resolve/'] button")
    page.click("form[action$='/notify/'] button[name=send]")
    page.wait_for_selector("form[action$='/close/']")
    page.click("form[action$='/close/'] button")
    page.wait_for_selector("[data-testid=resolution]")
    assert FeedbackItem.objects.get().status == "closed"

    # 4. the customer was emailed what was done, sees it in the portal, rates it there and has earned points
    assert _link("/f/rate/")
    visitor.goto(f"{base}/portal/feedback/")
    assert "We re-sent a new parcel" in visitor.inner_text(
        f"[data-feedback='{item.pk}'] [data-testid=feedback-resolution]"
    )
    visitor.click(f"[data-feedback='{item.pk}'] a[href*='/f/rate/']")
    visitor.click("button[value=yes]")
    visitor.wait_for_selector("[data-testid=public-message]")
    assert FeedbackItem.objects.get().customer_satisfied is True
    visitor.goto(f"{base}/portal/points/")
    assert visitor.inner_text("[data-testid=portal-points-balance]").strip() != "0"
    visitor.screenshot(path=str(SHOTS / f"feedback-portal-points-{language}-phone.png"), full_page=True)
    page.goto(f"{base}/contacts/{customer.pk}/")
    assert page.inner_text("[data-testid=points-balance]").strip() != "0"
    phone_staff = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    _sign_in(phone_staff, base, agent.email)
    phone_staff.goto(f"{base}/feedback/{item.pk}/")
    assert fits_the_width(phone_staff)
    phone_staff.screenshot(path=str(SHOTS / f"feedback-item-closed-{language}-phone.png"), full_page=True)

    # 5. the resolution triggered the NPS survey; a detractor answer opens a follow-up
    events_dispatch_batch()
    assert _link("/f/survey/")  # emailed, and waiting in the portal
    visitor.goto(f"{base}/portal/feedback/")
    visitor.screenshot(path=str(SHOTS / f"feedback-portal-list-{language}-phone.png"), full_page=True)
    visitor.click("[data-testid=portal-surveys] a")
    visitor.screenshot(path=str(SHOTS / f"feedback-nps-{language}-phone.png"), full_page=True)
    visitor.click("label:has(#score-3) span")
    visitor.fill("textarea[name=text]", "还是不满意" if language == "zh-hans" else "Still not happy")
    visitor.click("main form[method=post] button.btn-primary, .card form[method=post] button.btn-primary")
    visitor.wait_for_selector("[data-testid=public-message]")
    follow_up = FeedbackItem.objects.get(channel="survey")
    assert follow_up.contact == customer and follow_up.kind == "complaint"
    boss = browser.new_page(viewport={"width": 1280, "height": 900})
    _sign_in(boss, base, manager.email)
    boss.goto(f"{base}/feedback/?channel=survey")
    assert f"#{follow_up.pk}" in boss.inner_text("body")
    boss.goto(f"{base}/feedback/reports/")
    boss.wait_for_selector("#chart-scores canvas")
    boss.screenshot(path=str(SHOTS / f"feedback-reports-{language}-desktop.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_feedback_settings_schedules_and_reports_by_product(browser, live_server, language):
    """An administrator changes the feedback policy and adds a topic in the settings pages, creates a survey
    schedule and sees its next run, and reads the reports by channel (translated labels, not codes) and by
    product — in Chinese and English, at desktop and phone width."""
    from guanxi.core.models import Tag
    from guanxi.feedback.models import FeedbackSettings, FeedbackTopic, SurveyAnswer, SurveySchedule

    from ..sales import order_factories

    SHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    admin = UserFactory(email="admin@example.com", full_name="王管理", roles=["administrator"], language=language)
    Tag.objects.create(name="VIP")
    nps = Survey.objects.create(name="季度 NPS", kind="nps", question=services.default_question("nps"))
    csat = Survey.objects.create(name="CSAT", kind="csat", question=services.default_question("csat"))
    cloud = order_factories.product(name="云服务器 Cloud server")
    disk = order_factories.product(name="云硬盘 Cloud disk")
    now = timezone.now()
    rows = []
    for month in range(6):
        when = now - timedelta(days=30 * month)
        for score, channel, product in (
            (10, "email", cloud),
            (9, "portal", cloud),
            (4, "email", disk),
            (8, "phone", disk),
        ):
            rows.append(
                SurveyAnswer(
                    survey=nps, kind="nps", score=score, channel=channel, product_id=product.pk, created_at=when
                )
            )
        rows.append(
            SurveyAnswer(
                survey=csat, kind="csat", score=4 + month % 2, channel="email", product_id=cloud.pk, created_at=when
            )
        )
    SurveyAnswer.objects.bulk_create(rows)
    services.score_rollup_rebuild()

    for width, device in ((1280, "desktop"), (390, "phone")):
        page = browser.new_page(
            viewport={"width": width, "height": 900 if width > 400 else 844},
            is_mobile=width < 400,
            has_touch=width < 400,
            locale=LOCALE[language],
        )
        page.set_default_timeout(60_000)
        _sign_in(page, base, admin.email)

        # settings: the policy form, routing rules and topics
        page.goto(f"{base}/settings/feedback/")
        assert fits_the_width(page)
        page.screenshot(path=str(SHOTS / f"feedback-settings-{language}-{device}.png"), full_page=True)
        if device == "desktop":
            page.fill("input[name=recurring_count]", "1")
            page.click("#feedback-policy button[type=submit]")
            page.wait_for_selector(".invalid-feedback, .is-invalid")
            page.screenshot(path=str(SHOTS / f"feedback-settings-error-{language}-desktop.png"), full_page=True)
            page.fill("input[name=recurring_count]", "3")
            page.fill("input[name=points_feedback]", "25")
            page.click("#feedback-policy button[type=submit]")
            page.wait_for_selector("#feedback-topics")
            assert FeedbackSettings.objects.get(pk=1).points_feedback == 25
            page.click("#feedback-topics a.btn")
            page.fill("input[name=key]", "invoice")
            page.fill("input[name=name]", "Invoices")
            page.fill("input[name=name_zh]", "发票")
            page.click("form.card button.btn-primary[type=submit]")
            page.wait_for_selector("#feedback-topics")
            assert FeedbackTopic.objects.filter(key="invoice").exists()

            # a schedule: every 30 days to the VIP tag
            page.goto(f"{base}/surveys/schedules/")
            page.screenshot(path=str(SHOTS / f"feedback-schedules-empty-{language}-desktop.png"), full_page=True)
            page.goto(f"{base}/surveys/schedules/new/")
            page.fill("input[name=name]", "每季度 VIP NPS")
            page.select_option("select[name=survey]", str(nps.pk))
            page.select_option("select[name=audience_tag]", label="VIP")
            page.fill("input[name=every_days]", "91")
            page.click("form.card button.btn-primary[type=submit]")
            page.wait_for_url(f"{base}/surveys/schedules/")
            assert SurveySchedule.objects.get().every_days == 91
        page.goto(f"{base}/surveys/schedules/")
        assert fits_the_width(page)
        assert "每季度 VIP NPS" in page.inner_text("body")
        page.screenshot(path=str(SHOTS / f"feedback-schedules-{language}-{device}.png"), full_page=True)

        # reports by channel show translated channel labels, and by product the product names
        page.goto(f"{base}/feedback/reports/?by=channel")
        page.wait_for_selector("#chart-groups canvas")
        table = page.inner_text("[data-testid=scores-by]")
        assert ("邮件" if language == "zh-hans" else "Email") in table and "web_form" not in table
        assert "\nemail\t" not in table
        assert fits_the_width(page)
        page.screenshot(path=str(SHOTS / f"feedback-reports-channel-{language}-{device}.png"), full_page=True)
        page.goto(f"{base}/feedback/reports/?by=product")
        page.wait_for_selector("#chart-groups canvas")
        assert "云服务器 Cloud server" in page.inner_text("[data-testid=scores-by]")
        page.screenshot(path=str(SHOTS / f"feedback-reports-product-{language}-{device}.png"), full_page=True)
        page.close()
