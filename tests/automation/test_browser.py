"""In headless Chromium: an administrator builds a rule (trigger, a condition, an action), dry-runs it on a
lead, switches it on, a new lead triggers it, and the run shows on the rule's page — zh-Hans and English,
at 1280 px and 390 px."""

from __future__ import annotations

import pytest

from guanxi.automation.models import Rule, RuleRun

from ..customers import factories
from ..factories import PASSWORD, TeamFactory, UserFactory
from ..web.conftest import SHOTS
from .helpers import dispatch


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("width", [1280, 390])
def test_build_dry_run_switch_on_trigger_and_see_the_run(browser, live_server, language, width):
    admin = UserFactory(
        email=f"admin-{language}-{width}@example.com", roles=["administrator"], language=language, teams=[TeamFactory()]
    )
    lead = factories.lead(owner=admin, source="web")
    dispatch()
    SHOTS.mkdir(parents=True, exist_ok=True)
    mobile = {"is_mobile": True, "has_touch": True} if width == 390 else {}
    page = browser.new_page(viewport={"width": width, "height": 900}, **mobile)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_load_state()

    page.goto(f"{live_server.url}/settings/automation/")
    assert fits_the_width(page)
    page.goto(f"{live_server.url}/settings/automation/rules/new/")
    page.fill("#id_name", f"网站线索提醒 web leads {language} {width}")
    page.select_option("#id_trigger", "record.created")
    page.select_option("#id_model", "customers.lead")
    page.click("#add-group")
    row = page.locator(".gx-condition").first
    row.locator("select").nth(0).select_option("source")
    row.locator("select").nth(1).select_option("eq")
    row.locator("input").fill("web")
    page.click("#add-action")
    action = page.locator(".gx-action").first
    action.locator("select").nth(0).select_option("notify")
    action.locator("input").first.fill("新线索 {{ record }}")
    assert fits_the_width(page), "the builder fits the width"
    page.screenshot(path=str(SHOTS / f"automation-builder-{language}-{width}.png"), full_page=True)
    page.click("form [type=submit].btn-primary")
    page.wait_for_url("**/settings/automation/rules/*/")
    rule = Rule.objects.get(name__startswith="网站线索提醒", name__endswith=f"{language} {width}")
    assert rule.conditions["groups"][0]["rules"] == [{"field": "source", "op": "eq", "value": "web"}]
    assert rule.actions == [{"kind": "notify", "config": {"to": "owner", "message": "新线索 {{ record }}"}}]
    assert not rule.active

    page.fill("#dry-record", str(lead.pk))
    page.click("#dry-run-button")
    page.wait_for_selector("#dry-run-plan")
    assert str(lead) in page.inner_text("#dry-run-plan")
    page.screenshot(path=str(SHOTS / f"automation-dry-run-{language}-{width}.png"), full_page=True)

    page.click("#rule-toggle")
    page.wait_for_load_state()
    rule.refresh_from_db()
    assert rule.active
    assert "bg-green-lt" in (page.get_attribute("#rule-state", "class") or "")
    assert page.get_attribute("html", "lang") == language

    fresh = factories.lead(owner=admin, source="web")
    dispatch()
    page.reload()
    runs = page.locator(".gx-run")
    assert RuleRun.objects.filter(rule=rule, dry_run=False, record_id=fresh.pk, outcome="ok").exists()
    assert str(fresh) in runs.first.inner_text()
    assert fits_the_width(page), "the rule page fits the width"
    page.screenshot(path=str(SHOTS / f"automation-runs-{language}-{width}.png"), full_page=True)
    page.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("width", [1280, 390])
def test_assign_picks_a_team_from_a_list_and_a_starter_rule_switched_on_fires(browser, live_server, language, width):
    """The assign action offers the teams by name (no ids typed); the shipped "welcome after a first order" rule
    is switched on from the rule list and runs when the sales app records a customer's first order."""
    from guanxi.automation.starter import starter_rules_load

    from ..sales import order_factories as orders

    starter_rules_load(Rule)  # a transactional test flushes what the migration loaded
    team = TeamFactory(name=f"华东销售 East sales {language}{width}")
    admin = UserFactory(
        email=f"admin2-{language}-{width}@example.com", roles=["administrator"], language=language, teams=[team]
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    mobile = {"is_mobile": True, "has_touch": True} if width == 390 else {}
    page = browser.new_page(viewport={"width": width, "height": 900}, **mobile)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_load_state()

    page.goto(f"{live_server.url}/settings/automation/rules/new/")
    page.fill("#id_name", f"分配新线索 assign {language} {width}")
    page.select_option("#id_model", "customers.lead")
    page.click("#add-action")
    action = page.locator(".gx-action").first
    action.locator("select").nth(0).select_option("assign")
    action.locator("select").nth(1).select_option("least_loaded")
    action.locator("select").nth(2).select_option(label=team.name)
    assert fits_the_width(page), "the builder with the team list fits the width"
    page.screenshot(path=str(SHOTS / f"automation-assign-{language}-{width}.png"), full_page=True)
    page.click("form [type=submit].btn-primary")
    page.wait_for_url("**/settings/automation/rules/*/")
    rule = Rule.objects.get(name=f"分配新线索 assign {language} {width}")
    assert rule.actions == [{"kind": "assign", "config": {"strategy": "least_loaded", "team": team.pk}}]

    welcome = Rule.objects.get(trigger="record.first", created_by__isnull=True)
    page.goto(f"{live_server.url}/settings/automation/")
    row = page.locator("tr", has_text=welcome.name)
    row.locator("input[role=switch]").click()
    page.wait_for_load_state()
    welcome.refresh_from_db()
    assert welcome.active
    assert fits_the_width(page), "the rule list fits the width"
    page.screenshot(path=str(SHOTS / f"automation-starter-on-{language}-{width}.png"), full_page=True)

    contact = factories.contact(owner=admin, email=f"first-{language}-{width}@kehu.cn")
    order = orders.order(owner=admin, contact=contact)
    dispatch()
    assert RuleRun.objects.filter(rule=welcome, record_id=order.pk, outcome="ok").exists()
    page.goto(f"{live_server.url}/settings/automation/rules/{welcome.pk}/")
    assert order.number in page.locator(".gx-run").first.inner_text()
    assert fits_the_width(page), "the starter rule's page fits the width"
    page.screenshot(path=str(SHOTS / f"automation-starter-run-{language}-{width}.png"), full_page=True)
    page.close()
