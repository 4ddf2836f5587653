"""The starter rules the source documents describe, shipped switched off.

Each works on the events the other apps really record: the service SLA sweep's `sla_breached`, a ticket's
status change to resolved (with feedback's "start a survey" action), a customer's first sales order, and
accounts that went quiet.
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
    },
    {
        "name": "升级超时的服务工单 Escalate breached SLAs",
        "description": "When the SLA sweep records a ticket's breach, tell the administrators and the owner.",
        "trigger": "deadline.event",
        "trigger_config": {"model": "service.ticket", "event": "sla_breached"},
        "conditions": {},
        "actions": [
            {"kind": "notify", "config": {"to": "administrators", "message": "工单 {{ record }} 已超时 SLA breached"}},
            {"kind": "notify", "config": {"to": "owner", "message": "工单 {{ record }} 已超时 SLA breached"}},
        ],
    },
    {
        "name": "工单解决后致谢并邀请评价 Thank-you and survey after a solved ticket",
        "description": "When a ticket is resolved, thank the customer and send the active CSAT survey.",
        "trigger": "status.changed",
        "trigger_config": {"model": "service.ticket", "field": "status", "to": "resolved"},
        "conditions": {},
        "actions": [
            {
                "kind": "send_email",
                "config": {
                    "to": "contact",
                    "subject": "感谢您的耐心 Thank you",
                    "body": "您的工单 {{ record }} 已解决。Your ticket {{ record }} is solved.",
                },
            },
            {"kind": "feedback.survey_start", "config": {"survey": "csat"}},
        ],
    },
    {
        "name": "首单欢迎 Welcome after a first order",
        "description": "A customer's first order: send the welcome email and remind the owner to call.",
        "trigger": "record.first",
        "trigger_config": {"model": "sales.order"},
        "conditions": {},
        "actions": [
            {
                "kind": "send_email",
                "config": {
                    "to": "contact",
                    "subject": "欢迎 Welcome",
                    "body": "感谢您的首单 {{ number }}！Thank you for your first order {{ number }}.",
                },
            },
            {
                "kind": "notify",
                "config": {"to": "owner", "message": "首单 {{ number }}：请致电欢迎 First order, call to welcome"},
            },
        ],
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
