"""Factories for customer records; they go through the services so data is as the app would store it."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from django.utils import timezone

from guanxi.customers import services
from guanxi.customers.models import Account, Contact, Interaction, Lead

_seq = itertools.count(1)


def _phone() -> str:
    return f"139{next(_seq):08d}"


def account(*, actor: Any = None, owner: Any = None, team: Any = None, **fields: Any) -> Account:
    fields.setdefault("name", f"华为科技 Huawei {next(_seq)}")
    return services.account_create(actor=actor or owner, owner=owner, team=team, **fields)


def contact(*, actor: Any = None, owner: Any = None, team: Any = None, **fields: Any) -> Contact:
    if not fields.get("surname") and not fields.get("given_name"):
        fields.update(surname="李", given_name=f"娜{next(_seq)}")
    if "phone" not in fields and "email" not in fields:
        fields["phone"] = _phone()
    return services.contact_create(actor=actor or owner, owner=owner, team=team, **fields)


def lead(*, actor: Any = None, owner: Any = None, team: Any = None, **fields: Any) -> Lead:
    if "surname" not in fields and "given_name" not in fields:
        fields.update(surname="王", given_name=f"芳{next(_seq)}")
    fields.setdefault("company_name", f"小米科技 Xiaomi {next(_seq)}")
    fields.setdefault("phone", _phone())
    fields.setdefault("source", Lead.Source.WEB)
    return services.lead_create(actor=actor or owner, owner=owner, team=team, **fields)


def interaction(*, about: Any, actor: Any, **fields: Any) -> Interaction:
    fields.setdefault("kind", Interaction.Kind.CALL)
    fields.setdefault("channel", Interaction.Channel.PHONE)
    fields.setdefault("subject", f"电话回访 call {next(_seq)}")
    return services.interaction_log(actor=actor, about=about, **fields)


def task(*, about: Any, actor: Any, **fields: Any) -> Interaction:
    fields.setdefault("due_at", timezone.now() + timedelta(days=2))
    fields.setdefault("subject", f"发报价 send the quote {next(_seq)}")
    fields.setdefault("channel", "")
    return interaction(about=about, actor=actor, kind=Interaction.Kind.TASK, **fields)
