"""Analytics job kinds: the scoring run and the KPI rebuild, with progress for the jobs page."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_noop

from guanxi.core.jobs import Progress, job_kind
from guanxi.core.models import Job

from . import kpis, services


@job_kind(
    "analytics.scores_refresh",
    gettext_noop("Customer scores (RFM, lifetime value, churn)"),
    permission="analytics.add_modelrun",
)
def scores_refresh_job(job: Job, progress: Progress) -> dict[str, Any]:
    """Score every customer as of `params["asof"]` (yesterday by default)."""
    raw = job.params.get("asof")
    asof = date.fromisoformat(raw) if raw else timezone.localdate() - timedelta(days=1)
    run = services.scores_refresh(asof=asof, actor=job.owner, progress=progress)
    return {"run": run.pk, "customers": run.customers, "metrics": run.metrics}


@job_kind("analytics.kpis_refresh", gettext_noop("KPI values"), permission="analytics.add_modelrun")
def kpis_refresh_job(job: Job, progress: Progress) -> dict[str, Any]:
    """Rebuild every KPI for the last `params["months"]` months (13 by default)."""
    months = [kpis.month_start(timezone.localdate())]
    for _i in range(int(job.params.get("months", 13)) - 1):
        months.append(kpis.month_start(months[-1] - timedelta(days=1)))
    progress(0, len(months), "")
    written = 0
    with kpis.shared_reads(since=min(months)):
        for done, month in enumerate(sorted(months), start=1):
            written += kpis.kpis_refresh(months=[month])
            progress(done, len(months), month.strftime("%Y-%m"))
    return {"values": written}
