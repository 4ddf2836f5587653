"""Orders for analytics tests.

This branch has no order service yet (the orders helper builds it), so orders are written here the
way it will store them: totals on the order, one line per product, a `created` event in the same
transaction.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from guanxi.core.events import record_event
from guanxi.sales.models import Order, OrderLine, Product

from ..customers import factories as customer_factories
from ..sales.factories import cny

_seq = itertools.count(1)


def product(name: str = "") -> Product:
    n = next(_seq)
    return Product.objects.create(
        sku=f"SKU-{n}", name=name or f"产品 Product {n}", price=Decimal("100"), currency=cny()
    )


@transaction.atomic
def order(
    *,
    customer: Any,
    at: datetime,
    total: float | Decimal = 100,
    products: list[Product] | None = None,
    status: str = Order.Status.COMPLETED,
    owner: Any = None,
    team: Any = None,
) -> Order:
    """One order of `customer` (an account or a contact) placed at `at`."""
    from guanxi.customers.models import Account

    is_account = isinstance(customer, Account)
    value = Decimal(str(total))
    o = Order.objects.create(
        number=f"SO-{next(_seq):07d}",
        account=customer if is_account else None,
        contact=None if is_account else customer,
        currency=cny(),
        status=status,
        ordered_at=at,
        net_total=value,
        gross_total=value,
        owner=owner if owner is not None else customer.owner,
        team=team if team is not None else customer.team,
    )
    for p in products or []:
        OrderLine.objects.create(order=o, product=p, unit_price=value, net_amount=value, gross_amount=value)
    record_event(obj=o, action="created", actor=owner, changes={"ordered_at": [None, at.isoformat()]})
    return o


def history(*, customers: int, seed: int = 1, owner: Any = None, team: Any = None, days: int = 540) -> dict[str, Any]:
    """A shop's order history over `days` days ending yesterday: a BG/NBD-like mix of loyal and lapsed buyers.

    Products come in two families bought together (tea sets with tea, phones with cases), so
    co-purchase has something to find.
    """
    rng = np.random.default_rng(seed)
    families = [[product(f"茶 Tea {i}") for i in range(5)], [product(f"手机 Phone {i}") for i in range(5)]]
    now = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    made = []
    for _i in range(customers):
        c = customer_factories.contact(owner=owner, team=team)
        family = families[int(rng.integers(2))]
        rate = rng.gamma(0.8, 1 / 40)  # orders per day
        lifetime = rng.exponential(300)
        start = int(rng.integers(0, days - 30))
        t = float(start)
        spend = float(rng.gamma(4, 60))
        while t < min(days, start + lifetime):
            picks = [family[j] for j in sorted(set(rng.integers(0, 5, 2).tolist()))]
            at = now - timedelta(days=days - t)
            order(
                customer=c, at=at, total=round(spend * rng.uniform(0.7, 1.3), 2), products=picks, owner=owner, team=team
            )
            t += max(1.0, float(rng.exponential(1 / max(rate, 1e-3))))
        made.append(c)
    return {"customers": made, "families": families, "now": now}
