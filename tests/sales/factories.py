"""Factories for sales records; they go through the services so data is as the app would store it."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from guanxi.sales import services
from guanxi.sales.models import Currency, Deal, LostReason, Pipeline, Stage

_seq = itertools.count(1)

# (name, probability, kind, required fields) — the shape of the default "new business" pipeline
STAGES = [
    ("初步接洽 First contact", 10, "open", []),
    ("需求确认 Needs confirmed", 25, "open", []),
    ("方案报价 Quote sent", 50, "open", ["amount"]),
    ("谈判 Negotiation", 75, "open", ["amount", "expected_close"]),
    ("赢单 Won", 100, "won", []),
    ("输单 Lost", 0, "lost", []),
]


def cny() -> Currency:
    currency, _created = Currency.objects.get_or_create(
        code="CNY", defaults={"name": "人民币", "rate_to_cny": Decimal("1")}
    )
    return currency


def currency(code: str = "USD", rate: Decimal | None = Decimal("7.1")) -> Currency:
    obj, _created = Currency.objects.update_or_create(code=code, defaults={"name": code, "rate_to_cny": rate})
    return obj


def pipeline(*, name: str = "", default: bool = False) -> Pipeline:
    """A pipeline with the six default stages (first contact … won, lost)."""
    cny()
    if default:
        Pipeline.objects.filter(is_default=True).update(is_default=False)
    made = Pipeline.objects.create(name=name or f"新业务 New business {next(_seq)}", is_default=default)
    for index, (stage_name, probability, kind, required) in enumerate(STAGES):
        Stage.objects.create(
            pipeline=made,
            name=stage_name,
            position=index,
            probability=probability,
            kind=kind,
            required_fields=required,
        )
    return made


new_pipeline = pipeline


def stage(pipeline: Pipeline, index: int) -> Stage:
    return pipeline.stages.order_by("position", "id")[index]


def lost_reason(name: str = "价格过高 Price too high") -> LostReason:
    reason, _created = LostReason.objects.get_or_create(name=name)
    return reason


def deal(*, owner: Any = None, actor: Any = None, pipeline: Pipeline | None = None, **fields: Any) -> Deal:
    fields.setdefault("name", f"ERP 项目 deal {next(_seq)}")
    fields.setdefault("currency", cny())
    return services.deal_create(actor=actor or owner, owner=owner, pipeline=pipeline or new_pipeline(), **fields)
