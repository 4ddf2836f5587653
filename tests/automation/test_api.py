"""The automation API: rules CRUD, on/off, dry run, versions, export/import with errors naming rule and field."""

from __future__ import annotations

import pytest
from django.utils import translation

from guanxi.automation.models import Rule, RuleRun

from ..customers import factories
from ..factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

RULE = {
    "name": "新线索通知 New lead alert",
    "trigger": "record.created",
    "trigger_config": {"model": "customers.lead"},
    "conditions": {
        "match": "all",
        "groups": [{"match": "all", "rules": [{"field": "source", "op": "eq", "value": "web"}]}],
    },
    "actions": [{"kind": "notify", "config": {"to": "owner", "message": "新线索 {{ record }}"}}],
}


@pytest.fixture
def admin():
    return UserFactory(roles=["administrator"], teams=[TeamFactory()], language="en")


def test_create_enable_dry_run_and_list_runs(admin, bearer):
    client = bearer(admin)
    created = client.post("/api/v1/automation/rules", RULE, content_type="application/json")
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    assert created.json()["active"] is False
    enabled = client.post(f"/api/v1/automation/rules/{rule_id}/enable")
    assert enabled.json()["active"] is True
    lead = factories.lead(owner=admin, source="web")
    dry = client.post(
        f"/api/v1/automation/rules/{rule_id}/dry-run", {"record_id": lead.pk}, content_type="application/json"
    )
    assert dry.status_code == 200, dry.content
    assert dry.json()["conditions_hold"] is True and "新线索" in dry.json()["actions"][0]["plan"]
    runs = client.get(f"/api/v1/automation/runs?rule={rule_id}").json()
    assert runs["count"] == 1 and runs["items"][0]["dry_run"] is True


def test_a_bad_rule_is_refused_with_the_field_named(admin, bearer):
    bad = {**RULE, "conditions": {"groups": [{"rules": [{"field": "nope", "op": "eq", "value": 1}]}]}}
    response = bearer(admin).post("/api/v1/automation/rules", bad, content_type="application/json")
    assert response.status_code == 422
    assert "nope" in response.json()["error"]["fields"]["conditions"][0]
    assert not Rule.objects.filter(name=RULE["name"]).exists()


def test_patch_keeps_versions_and_the_versions_endpoint_lists_them(admin, bearer):
    client = bearer(admin)
    rule_id = client.post("/api/v1/automation/rules", RULE, content_type="application/json").json()["id"]
    client.patch(f"/api/v1/automation/rules/{rule_id}", {"description": "v2"}, content_type="application/json")
    versions = client.get(f"/api/v1/automation/rules/{rule_id}/versions").json()
    assert [v["version"] for v in versions] == [1] and versions[0]["summary"] == "description"


def test_export_then_import_elsewhere_round_trips(admin, bearer):
    client = bearer(admin)
    client.post("/api/v1/automation/rules", RULE, content_type="application/json")
    exported = client.get("/api/v1/automation/rules/export").json()
    assert exported["format"] == "guanxi.automation.rules/1"
    before = Rule.objects.count()
    Rule.objects.all().delete()  # another environment
    imported = client.post("/api/v1/automation/rules/import", {"data": exported}, content_type="application/json")
    assert imported.status_code == 201, imported.content
    assert Rule.objects.count() == before
    assert Rule.objects.get(name=RULE["name"]).conditions == RULE["conditions"]
    assert Rule.objects.filter(trigger="deadline.event", active=False).count() == 1, "starter rules travel, still off"


def test_import_errors_name_the_rule_and_field_and_import_nothing(admin, bearer):
    data = {
        "format": "guanxi.automation.rules/1",
        "rules": [
            {**RULE, "name": "good one"},
            {**RULE, "name": "broken", "actions": [{"kind": "teleport", "config": {}}]},
        ],
    }
    with translation.override("en"):
        response = bearer(admin).post(
            "/api/v1/automation/rules/import", {"data": data}, content_type="application/json"
        )
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    key = next(iter(fields))
    assert "broken" in key and key.endswith(".actions") and "teleport" in fields[key][0]
    assert not Rule.objects.filter(name__in=["good one", "broken"]).exists()


def test_dry_run_on_a_record_the_user_cannot_see_is_refused(admin, bearer):
    client = bearer(admin)
    rule_id = client.post("/api/v1/automation/rules", RULE, content_type="application/json").json()["id"]
    response = client.post(
        f"/api/v1/automation/rules/{rule_id}/dry-run", {"record_id": 999999}, content_type="application/json"
    )
    assert response.status_code == 422 and "record_id" in response.json()["error"]["fields"]
    assert not RuleRun.objects.exists()
