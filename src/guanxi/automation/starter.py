"""The starter rules the source documents describe, shipped switched off.

A rule whose trigger or record belongs to an app that is not installed yet (service, sales, feedback)
is kept with `needs` set; it cannot be switched on until that app registers its trigger and the rule
is saved again.
"""

from __future__ import annotations

from typing import Any

STARTER_RULES: list[dict[str, Any]] = [
    {
        "name": "跟进长期未处理的线索 Follow up leads untouched for 14 days",
        "description": "A lead nobody touched for 14 days gets a follow-up task for its owner.",
        "trigger": "no_activity",
        "trigger_config": {"model": "customers.lead", "days": 14},
        "conditions": {
            "match": "all",
            "groups": [{"match": "all", "rules": [{"field": "status", "op": "in", "value": ["new", "working"]}]}],
        },
        "actions": [
            {"kind": "create_task", "config": {"subject": "跟进线索 Follow up: {{ record }}", "due_in_days": 1}},
            {"kind": "notify", "config": {"to": "owner", "message": "线索 {{ record }} 已 14 天无人跟进"}},
        ],
        "needs": "",
    },
    {
        "name": "升级超时的服务工单 Escalate breached SLAs",
        "description": "When a ticket breaches its SLA, tell the administrators (needs the service app).",
        "trigger": "service.sla_breached",
        "trigger_config": {"model": "service.ticket"},
        "conditions": {},
        "actions": [{"kind": "notify", "config": {"to": "administrators", "message": "工单 {{ record }} 已超时"}}],
        "needs": "service",
    },
    {
        "name": "工单解决后致谢并邀请评价 Thank-you and survey after a solved ticket",
        "description": "When a ticket is solved, thank the customer and start a satisfaction survey.",
        "trigger": "status.changed",
        "trigger_config": {"model": "service.ticket", "field": "status", "to": "solved"},
        "conditions": {},
        "actions": [
            {
                "kind": "send_email",
                "config": {
                    "to": "record",
                    "subject": "感谢您的耐心 Thank you",
                    "body": "您的工单 {{ record }} 已解决。Your ticket {{ record }} is solved.",
                },
            },
            {"kind": "feedback.survey_start", "config": {"survey": "csat"}},
        ],
        "needs": "service",
    },
    {
        "name": "首单欢迎 Welcome after a first order",
        "description": "After a customer's first order, send the welcome email (needs the sales app).",
        "trigger": "record.created",
        "trigger_config": {"model": "sales.order"},
        "conditions": {},
        "actions": [
            {
                "kind": "send_email",
                "config": {
                    "to": "record",
                    "subject": "欢迎 Welcome",
                    "body": "感谢您的首单！Thank you for your first order.",
                },
            }
        ],
        "needs": "sales",
    },
    {
        "name": "重要客户活跃度下降提醒 Alert when a high-value customer goes quiet",
        "description": "A strategic or key account with no activity for 30 days: alert its owner.",
        "trigger": "no_activity",
        "trigger_config": {"model": "customers.account", "days": 30},
        "conditions": {
            "match": "all",
            "groups": [{"match": "all", "rules": [{"field": "tier", "op": "in", "value": ["strategic", "key"]}]}],
        },
        "actions": [{"kind": "notify", "config": {"to": "owner", "message": "重要客户 {{ record }} 已 30 天没有动静"}}],
        "needs": "",
    },
]


def starter_rules_load(rule_model: Any) -> int:
    """Create the starter rules that do not exist yet (by name), switched off; returns how many."""
    made = 0
    for item in STARTER_RULES:
        if rule_model.objects.filter(name=item["name"]).exists():
            continue
        rule_model.objects.create(active=False, **item)
        made += 1
    return made
