"""Demo deals: two years of them in the default pipelines, with product lines and their stage histories as events."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group

from guanxi.core.demo import DemoOutput, DemoSizes, demo_loader
from guanxi.core.models import ADMINISTRATOR, User
from guanxi.customers.models import Account

from .generate import Owner, deals_generate
from .models import Deal, Pipeline
from .order_demo import demo_products


def demo_owners() -> list[Owner]:
    """The sales staff (or the first administrator), each with their first team."""
    users = list(User.objects.filter(groups__name="sales", is_active=True).order_by("id")[:200])
    if not users:
        admin_group = Group.objects.filter(name=ADMINISTRATOR).first()
        users = list(User.objects.filter(groups=admin_group).order_by("id")[:1])
    teams: dict[int, int] = {}
    for user_id, team_id in (
        User.teams.through.objects.filter(user__in=users).order_by("team_id").values_list("user_id", "team_id")
    ):
        teams.setdefault(user_id, team_id)
    return [Owner(id=u.pk, label=str(u), team_id=teams.get(u.pk)) for u in users]


@demo_loader(order=40)
def sales_demo(*, seed: int, sizes: DemoSizes, stdout: DemoOutput) -> dict[str, Any]:
    """About one deal per four customers over the last two years, 80% new business and 20% renewals, each with
    one to three lines of the demo products (its amount their gross total)."""
    if not sizes.customers or Deal.objects.exists():
        return {}
    owners = demo_owners()
    pipelines = list(Pipeline.objects.filter(active=True).order_by("-is_default", "position", "id")[:2])
    if not owners or not pipelines:
        return {}
    weights = [0.8, 0.2][: len(pipelines)]
    account_ids = list(Account.objects.order_by("id").values_list("id", flat=True)[:50_000])
    totals = deals_generate(
        count=max(40, sizes.customers // 4),
        seed=seed,
        owners=owners,
        pipelines=list(zip(pipelines, weights, strict=True)),
        account_ids=account_ids,
        products=demo_products(english=False),
    )
    return {
        "deals created": totals.get("deals", 0),
        "open": totals.get("open", 0),
        "won": totals.get("won", 0),
        "lost": totals.get("lost", 0),
        "deal lines": totals.get("lines", 0),
        "deal events": totals.get("events", 0),
    }
