"""In headless Chromium, the issue's "done when": import a messy spreadsheet, fix what the dry run flags, find the
customer by pinyin and by a phone fragment, and define a custom field that then shows in the form, the page and
the list — in Chinese and in English, at desktop and phone width."""

from __future__ import annotations

import pytest

from guanxi.customers.models import Contact

from ..factories import PASSWORD, UserFactory
from .conftest import SHOTS
from .test_browser import fits_the_width

HEADER = "姓名,手机,电子邮件,公司,职位\r\n"
GOOD = "张伟,138 0013 8001,zhang.wei@yunfan.example.cn,上海云帆科技有限公司,采购经理\r\n"
ENGLISH = "Anna Smith,+1 415 555 0100,Anna.Smith@Acme.example.com,Acme Trading Co.,Buyer\r\n"
BAD = "李娜,12345,lina@,上海云帆科技有限公司,工程师\r\n"
FIXED = "李娜,139 1234 5678,lina@yunfan.example.cn,上海云帆科技有限公司,工程师\r\n"


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_url(f"{base}/")


def _upload(page, base: str, path) -> None:
    page.goto(f"{base}/imports/new/")
    page.set_input_files("input[name=file]", str(path))
    page.select_option("select[name=record_type]", "customers.contact")
    page.click("form:has(input[name=file]) [type=submit]")
    page.wait_for_url(f"{base}/imports/*/")
    # the Chinese headers of an address-book export are recognised: nothing to map by hand
    assert page.locator("select[name=col_1]").input_value() == "phone"
    page.click("#import-state form[action$='/map/'] button[type=submit]")
    page.wait_for_selector("#import-state form[action$='/run/']")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_import_a_messy_gbk_file_fix_it_then_find_the_customer(browser, live_server, tmp_path, language):
    UserFactory(email="admin@example.com", full_name="陳美玲", roles=["administrator"], language=language)
    base = live_server.url
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _sign_in(page, base, "admin@example.com")

    messy = tmp_path / "通讯录.csv"
    messy.write_bytes((HEADER + GOOD + BAD + ENGLISH).encode("gbk", errors="replace"))
    _upload(page, base, messy)
    report = page.inner_text("#import-state")
    assert "GB" in report.upper(), "the encoding was detected as a GB code page"
    problems = page.locator("#import-state table").first.inner_text()
    assert "3" in problems, "the bad row is named by its number in the file"
    assert problems.count("\n") >= 2, "both the phone and the email of that row are flagged"
    page.screenshot(path=str(SHOTS / f"import-dry-run-{language}-desktop.png"), full_page=True)
    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.context.add_cookies(page.context.cookies())
    phone.goto(page.url)
    assert fits_the_width(phone)
    phone.screenshot(path=str(SHOTS / f"import-dry-run-{language}-phone.png"), full_page=True)
    assert Contact.objects.count() == 0, "a dry run writes nothing"

    fixed = tmp_path / "通讯录-fixed.csv"
    fixed.write_bytes((HEADER + GOOD + FIXED + ENGLISH).encode("gbk"))
    _upload(page, base, fixed)
    page.click("#import-state form[action$='/run/'] button[type=submit]")
    page.wait_for_selector("form[action$='/undo/']", timeout=30_000)
    page.screenshot(path=str(SHOTS / f"import-done-{language}-desktop.png"), full_page=True)
    assert Contact.objects.count() == 3
    assert Contact.objects.get(full_name="张伟").phone == "+8613800138001", "stored in E.164"

    page.goto(f"{base}/customers/search/?q=zw")
    assert "张伟" in page.inner_text("main, .page-body, body"), "found by pinyin initials"
    page.goto(f"{base}/customers/search/?q=zhangwei")
    assert "张伟" in page.inner_text("body"), "found by full pinyin"
    page.goto(f"{base}/customers/search/?q=0013%208001")
    assert "张伟" in page.inner_text("body"), "found by a fragment of the phone number as people type it"
    page.screenshot(path=str(SHOTS / f"search-phone-fragment-{language}-desktop.png"), full_page=True)
    page.goto(f"{base}/customers/search/?q=acme")
    assert "Anna Smith" in page.inner_text("body"), "found by company name"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_custom_field_defined_in_settings_shows_up_everywhere(browser, live_server, language):
    UserFactory(email="admin@example.com", full_name="陳美玲", roles=["administrator"], language=language)
    base = live_server.url
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _sign_in(page, base, "admin@example.com")

    page.goto(f"{base}/settings/fields/new/")
    page.select_option("select[name=record_type]", "contact")
    page.fill("input[name=key]", "wechat_id")
    page.fill("input[name=label]", "微信号")
    page.fill("input[name=label_en]", "WeChat ID")
    page.select_option("select[name=kind]", "text")
    page.click("form:has(input[name=key]) [type=submit]")
    page.wait_for_url(f"{base}/settings/fields/")
    label = "WeChat ID" if language == "en" else "微信号"
    assert label in page.inner_text("body")

    page.goto(f"{base}/contacts/new/")
    page.fill("input[name=surname]", "王")
    page.fill("input[name=given_name]", "芳")
    page.fill("input[name=phone]", "13600136000")
    page.fill("input[name=custom_wechat_id]", "wangfang88")
    page.screenshot(path=str(SHOTS / f"custom-field-form-{language}-desktop.png"), full_page=True)
    page.click("form:has(input[name=surname]) [type=submit]")
    page.wait_for_url(f"{base}/contacts/*/")
    assert "wangfang88" in page.inner_text("body") and label in page.inner_text("body"), "on the detail page"

    page.goto(f"{base}/contacts/?cols=name,cf_wechat_id&cf_wechat_id=wangfang88")
    listed = page.inner_text("body")
    assert label in listed and "wangfang88" in listed and "王芳" in listed, "a list column and a filter"
    page.screenshot(path=str(SHOTS / f"custom-field-list-{language}-desktop.png"), full_page=True)
