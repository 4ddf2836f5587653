"""Demo analytics: acquisition spend for the last year, then the KPI values, customer scores (RFM, CLV,
churn risk, suggestions) computed from the other apps' demo records, so every dashboard has numbers.

Runs last (after orders, tickets and feedback). The same work runs every night on the worker; in a
running system it can be started at once with `guanxi analytics_refresh` or the dashboard's
“Recompute now”.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from guanxi.core.demo import DemoOutput, DemoSizes, demo_loader

from . import services
from .kpis import kpis_refresh, month_start
from .models import AcquisitionSpend, ModelRun

SPEND_CHANNELS = ("web", "event", "referral", "social")


def analytics_refresh_all(*, months: int = 13, actor: object = None) -> dict[str, int]:
    """Score every customer as of yesterday and as of a quarter before (so segment moves show), then rebuild
    the KPI values of the last `months` months. What the nightly jobs do, in one go."""
    today = timezone.localdate()
    runs = 0
    for asof in (today - timedelta(days=92), today - timedelta(days=1)):
        services.scores_refresh(asof=asof, actor=actor)
        runs += 1
    month_list = [month_start(today)]
    while len(month_list) < months:
        month_list.append(month_start(month_list[-1] - timedelta(days=1)))
    values = kpis_refresh(months=sorted(month_list))
    return {"scoring runs": runs, "KPI values": values}


@demo_loader(order=95)
def analytics_demo(*, seed: int, sizes: DemoSizes, stdout: DemoOutput) -> dict[str, int]:
    """Acquisition spend per channel for twelve months, then KPIs and scores from the demo records."""
    if not sizes.customers:
        return {}
    rng = random.Random(f"{seed}:analytics")
    counts = {"acquisition spend months": 0}
    from guanxi.customers.models import Lead

    channels = [c for c in SPEND_CHANNELS if c in Lead.Source.values] or list(Lead.Source.values)[:3]
    month = month_start(timezone.localdate())
    if not AcquisitionSpend.objects.exists():
        for _i in range(12):
            for channel in channels:
                amount = Decimal(rng.randint(8, 40) * 1000)
                services.acquisition_spend_set(actor=None, channel=channel, month=month, amount=amount)
            counts["acquisition spend months"] += 1
            month = month_start(month - timedelta(days=1))
    if ModelRun.objects.exists():
        return counts
    stdout.write("  computing KPIs, RFM, lifetime value, churn risk and suggestions …\n")
    return counts | analytics_refresh_all()
