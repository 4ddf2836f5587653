"""In headless Chromium, the dedupe "done when" (review part): a reviewer opens the queue, reads why a cluster
matches, compares the records side by side, merges keeping the other record's phone, and an administrator undoes
the merge — in Chinese and in English, at desktop and phone width. Clusters are seeded with `clusters_store`, the
engine's way in."""

from __future__ import annotations

import pytest

from guanxi.customers.models import Contact
from guanxi.dedupe.models import DuplicateCluster, Merge

from ..customers import factories as cf
from ..dedupe import factories
from ..factories import PASSWORD, UserFactory
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
def test_review_a_cluster_merge_with_a_field_choice_and_undo(browser, live_server, language):
    admin = UserFactory(email="admin@example.com", full_name="陳美玲", roles=["administrator"], language=language)
    SHOTS.mkdir(parents=True, exist_ok=True)
    kept = cf.contact(owner=admin, surname="张", given_name="伟", phone="13812345678", title="采购经理", city="上海")
    other = cf.contact(owner=admin, surname="張", given_name="偉", phone="13987654321", email="zhang.wei@example.com")
    cf.interaction(about=other, actor=admin, subject="电话回访 follow-up")
    cluster = factories.cluster(kept, other, score=0.96)
    base = live_server.url

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _sign_in(page, base, "admin@example.com")
    page.goto(f"{base}/dedupe/")
    card = page.locator(f"[data-cluster='{cluster.pk}']")
    assert "phone exact" in card.inner_text(), "the queue says which fields agreed"
    assert "0.96" in card.inner_text()
    page.screenshot(path=str(SHOTS / f"dedupe-queue-{language}-desktop.png"), full_page=True)

    card.locator("a.btn").click()
    page.wait_for_url(f"{base}/dedupe/clusters/{cluster.pk}/")
    assert page.locator("tr.gx-differs[data-field='phone']").count() == 1, "differing values are highlighted"
    page.check(f"input[name=survivor][value='contact:{kept.pk}']")
    assert page.is_checked(f"input[name=choice_surname][value='contact:{kept.pk}']"), "the survivor's values follow it"
    assert page.is_checked(f"input[name=choice_email][value='contact:{other.pk}']"), "an empty value does not"
    page.check(f"input[name=choice_phone][value='contact:{other.pk}']")
    page.screenshot(path=str(SHOTS / f"dedupe-compare-{language}-desktop.png"), full_page=True)

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.context.add_cookies(page.context.cookies())
    for path, name in ((f"/dedupe/clusters/{cluster.pk}/", "compare"), ("/dedupe/", "queue")):
        phone.goto(f"{base}{path}")
        assert fits_the_width(phone), f"the {name} page fits a phone; the comparison scrolls inside its own box"
        phone.screenshot(path=str(SHOTS / f"dedupe-{name}-{language}-phone.png"), full_page=True)

    page.click("button[form=merge-form]")
    page.wait_for_url(f"{base}/dedupe/merges/")
    kept.refresh_from_db()
    assert kept.phone == "+8613987654321", "the chosen phone survived"
    assert kept.email == "zhang.wei@example.com", "an empty field took the other record's value"
    assert kept.full_name == "张伟", "the survivor kept its own name"
    assert kept.interactions.count() == 1, "the other record's interaction moved to the survivor"
    assert Contact.objects.get(pk=other.pk).archived_at is not None, "the other record is archived"
    page.screenshot(path=str(SHOTS / f"dedupe-merged-{language}-desktop.png"), full_page=True)

    page.goto(f"{base}/contacts/{other.pk}/")
    assert page.url == f"{base}/contacts/{kept.pk}/", "the merged record's old address leads to the survivor"
    assert "电话回访" in page.inner_text("body"), "its history shows on the survivor's timeline"

    page.goto(f"{base}/dedupe/merges/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"tr[data-merge='{Merge.objects.get().pk}'] form button")
    page.wait_for_load_state()
    page.wait_for_selector(".badge.bg-secondary-lt")
    page.screenshot(path=str(SHOTS / f"dedupe-undone-{language}-desktop.png"), full_page=True)
    kept.refresh_from_db()
    assert kept.phone == "+8613812345678" and kept.email == ""
    assert Contact.objects.get(pk=other.pk).archived_at is None
    assert DuplicateCluster.objects.get(pk=cluster.pk).status == DuplicateCluster.Status.OPEN
    phone.close()
