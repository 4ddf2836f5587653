"""Who may open the automation pages and API endpoints (walked by tests/test_access.py).

Automation is company-wide configuration: administrators run it, managers may read rules and runs,
nobody else. There is no record scope (so no out-of-scope cases), except the dry run's record,
which is covered in tests/automation/test_pages.py.
"""

from __future__ import annotations

import itertools
from typing import Any

from guanxi.automation.models import InboundWebhook, Rule, WebhookSubscription

from ..access import ADMIN_ONLY, SIGNED_IN, Case

READERS = frozenset(["administrator", "manager"])
_seq = itertools.count()


def _rule(**extra: Any) -> Rule:
    return Rule.objects.create(
        name=f"walker rule {next(_seq)}",
        trigger="record.created",
        trigger_config={"model": "customers.lead"},
        actions=[{"kind": "notify", "config": {"to": "owner", "message": "hi"}}],
        **extra,
    )


def rule(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"pk": _rule().pk}


def rule_api(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"rule_id": _rule().pk}


def schedule_rule(world: dict[str, Any], user: Any) -> dict[str, Any]:
    made = Rule.objects.create(
        name=f"walker schedule {next(_seq)}",
        trigger="schedule",
        trigger_config={"cron": "0 9 * * 1"},
        actions=[{"kind": "notify", "config": {"to": "administrators", "message": "weekly"}}],
    )
    return {"rule_id": made.pk}


def subscription(world: dict[str, Any], user: Any) -> dict[str, Any]:
    sub = WebhookSubscription.objects.create(
        name=f"walker {next(_seq)}", url="http://127.0.0.1:9/hook", secret="s", event_types=["customers.lead.*"]
    )
    return {"pk": sub.pk}


def subscription_api(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"webhook_id": subscription(world, user)["pk"]}


def hook(world: dict[str, Any], user: Any) -> dict[str, Any]:
    made = InboundWebhook.objects.create(name="walker", slug=f"walker-{next(_seq)}", secret="s")
    return {"slug": made.slug}


def _new_rule(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {
        "name": f"API rule {next(_seq)}",
        "trigger": "record.created",
        "trigger_config": {"model": "customers.lead"},
        "actions": [{"kind": "notify", "config": {"to": "owner", "message": "新线索 {{ record }}"}}],
    }


PAGES = [
    Case("automation-rule-list", READERS),
    Case("automation-rule-create", ADMIN_ONLY),
    Case("automation-rule-export", READERS),
    Case("automation-rule-import", ADMIN_ONLY),
    Case("automation-rule-detail", READERS, args=rule),
    Case("automation-rule-edit", ADMIN_ONLY, args=rule),
    Case("automation-rule-toggle", ADMIN_ONLY, ok=302, method="POST", args=rule),
    Case("automation-rule-dry-run", ADMIN_ONLY, method="POST", args=rule, body=lambda w, u: {"record_id": "0"}),
    Case("automation-rule-versions", READERS, args=rule),
    Case("automation-run-list", READERS),
    Case("automation-webhook-list", ADMIN_ONLY),
    Case("automation-webhook-detail", ADMIN_ONLY, args=subscription),
    Case("automation-webhook-toggle", ADMIN_ONLY, ok=302, method="POST", args=subscription),
    Case("automation-inbound-list", ADMIN_ONLY),
]

ENDPOINTS = [
    Case("GET /automation/catalog", READERS),
    Case("GET /automation/rules", READERS),
    Case("POST /automation/rules", ADMIN_ONLY, ok=201, body=_new_rule),
    Case("GET /automation/rules/export", READERS),
    Case(
        "POST /automation/rules/import",
        ADMIN_ONLY,
        ok=201,
        body=lambda w, u: {"data": {"format": "guanxi.automation.rules/1", "rules": [_new_rule(w, u)]}},
    ),
    Case("GET /automation/rules/{rule_id}", READERS, args=rule_api),
    Case("PATCH /automation/rules/{rule_id}", ADMIN_ONLY, args=rule_api, body=lambda w, u: {"description": "改 x"}),
    Case("DELETE /automation/rules/{rule_id}", ADMIN_ONLY, ok=204, args=rule_api),
    Case("POST /automation/rules/{rule_id}/enable", ADMIN_ONLY, args=rule_api),
    Case("POST /automation/rules/{rule_id}/disable", ADMIN_ONLY, args=rule_api),
    Case("POST /automation/rules/{rule_id}/dry-run", ADMIN_ONLY, args=schedule_rule),
    Case("GET /automation/rules/{rule_id}/versions", READERS, args=rule_api),
    Case("GET /automation/runs", READERS),
    Case("GET /automation/webhooks", ADMIN_ONLY),
    Case(
        "POST /automation/webhooks",
        ADMIN_ONLY,
        ok=201,
        body=lambda w, u: {"name": "ERP", "url": "http://127.0.0.1:9/erp", "event_types": ["customers.lead.created"]},
    ),
    Case(
        "PATCH /automation/webhooks/{webhook_id}",
        ADMIN_ONLY,
        args=subscription_api,
        body=lambda w, u: {"active": False},
    ),
    Case("DELETE /automation/webhooks/{webhook_id}", ADMIN_ONLY, ok=204, args=subscription_api),
    Case("GET /automation/deliveries", ADMIN_ONLY),
    Case("GET /automation/inbound", ADMIN_ONLY),
    Case("POST /automation/inbound", ADMIN_ONLY, ok=201, body=lambda w, u: {"name": f"表单 {next(_seq)}"}),
    # public, and refused to everyone without a valid signature (the walker sends none)
    Case("POST /automation/hooks/{slug}", SIGNED_IN, ok=401, args=hook, public=True),
]
