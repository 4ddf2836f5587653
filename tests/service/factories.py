"""Service desk records for tests; they go through the services so data is as the app would store it."""

from __future__ import annotations

import itertools
from typing import Any

from guanxi.service import services
from guanxi.service.models import BusinessCalendar, Queue, SlaPolicy, Ticket
from guanxi.service.models import default_hours as _hours

_seq = itertools.count(1)


def calendar(**fields: Any) -> BusinessCalendar:
    fields.setdefault("name", f"工作日历 Calendar {next(_seq)}")
    fields.setdefault("time_zone", "Asia/Shanghai")
    fields.setdefault("hours", _hours())
    return services.calendar_save(actor=None, **fields)


def queue(*, agents: list[Any] | None = None, **fields: Any) -> Queue:
    fields.setdefault("name", f"售后 Support {next(_seq)}")
    fields.setdefault("assignment", Queue.Assignment.ROUND_ROBIN)
    return services.queue_save(actor=None, agents=agents or [], **fields)


def policy(*, cal: BusinessCalendar | None = None, **fields: Any) -> SlaPolicy:
    fields.setdefault("name", f"标准 Standard {next(_seq)}")
    fields.setdefault("first_response_minutes", 60)
    fields.setdefault("resolution_minutes", 480)
    fields.setdefault("warn_before_minutes", 15)
    return services.sla_policy_save(actor=None, calendar=cal or calendar(), **fields)


def ticket(*, actor: Any = None, **fields: Any) -> Ticket:
    fields.setdefault("subject", f"打印机无法连接 Printer offline {next(_seq)}")
    fields.setdefault("body", "打印机连不上网络。The printer cannot reach the network.")
    fields.setdefault("channel", "phone")
    return services.ticket_create(actor=actor, **fields)
