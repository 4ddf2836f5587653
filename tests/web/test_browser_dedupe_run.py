"""In headless Chromium, the engine's part of the dedupe "done when": a person starts a dedupe run from the
review queue, sees the job's progress through to the end, and finds the clusters it found, with their reasons,
in the queue — in Chinese and in English, at desktop and phone width."""

from __future__ import annotations

import pytest

from guanxi.core.models import Job
from guanxi.dedupe.models import DuplicateCluster

from ..customers import factories as cf
from ..factories import PASSWORD, UserFactory
from .conftest import SHOTS
from .test_browser import fits_the_width

PEOPLE = [  # (surname, given name, phone, email): each person twice, written differently, and some others
    ("张", "伟", "138 0013 8000", "zhang.wei@example.cn"),
    ("張", "偉", "+86 138-0013-8000", "Zhang.Wei+crm@example.cn"),
    ("Smith", "Anna", "+1 415 555 0100", "anna.smith@acme.example.com"),
    ("Anna", "Smith", "+1 (415) 555-0100", "ANNA.SMITH@acme.example.com"),
]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_run_dedupe_from_the_queue_watch_it_finish_and_see_clusters(browser, live_server, language):
    admin = UserFactory(email="admin@example.com", full_name="陳美玲", roles=["administrator"], language=language)
    for surname, given, phone, email in PEOPLE:
        cf.contact(owner=admin, surname=surname, given_name=given, phone=phone, email=email)
    for i in range(60):  # people who are no one's duplicate: what the weights are estimated against
        cf.contact(owner=admin, surname="李王赵钱孙周吴郑"[i % 8], given_name=f"{'明华强丽'[i % 4]}{i}")
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/dedupe/")
    run_now = page.locator("[data-testid=dedupe-run-now]")
    assert run_now.is_visible()
    page.screenshot(path=str(SHOTS / f"dedupe-run-now-{language}-desktop.png"), full_page=True)
    run_now.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/jobs/*/")
    page.wait_for_selector("#job-progress .text-success", timeout=60_000)
    assert "100%" in page.inner_text("#job-progress")
    page.screenshot(path=str(SHOTS / f"dedupe-run-done-{language}-desktop.png"), full_page=True)
    job = Job.objects.get(kind="dedupe.run")
    assert job.state == Job.State.SUCCEEDED and job.result["clusters"] >= 2

    page.goto(f"{base}/dedupe/")
    text = page.inner_text("main, .page-body, body")
    assert "张伟" in text or "張偉" in text, "the Chinese pair is in the queue"
    assert "Anna Smith" in text or "Smith Anna" in text, "the swapped English name pair is in the queue"
    assert DuplicateCluster.objects.filter(status="open").count() >= 2
    page.screenshot(path=str(SHOTS / f"dedupe-queue-{language}-desktop.png"), full_page=True)

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{base}/dedupe/")
    assert fits_the_width(phone), "no sideways scrolling at 390 px"
    assert phone.locator("[data-testid=dedupe-run-now] button").is_visible()
    phone.screenshot(path=str(SHOTS / f"dedupe-queue-{language}-phone.png"), full_page=True)
    phone.goto(f"{base}/jobs/{job.pk}/")
    assert fits_the_width(phone)
    phone.screenshot(path=str(SHOTS / f"dedupe-run-done-{language}-phone.png"), full_page=True)
