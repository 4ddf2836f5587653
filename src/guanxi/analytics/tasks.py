"""Celery tasks for analytics: thin, they queue the jobs (so their progress shows on the jobs page)."""

from celery import shared_task

from guanxi.core.jobs import job_start


@shared_task(name="guanxi.analytics.tasks.scores_refresh_nightly")
def scores_refresh_nightly() -> int:
    """Re-score every customer (RFM, CLV, churn model retrained, recommendations) as of yesterday."""
    return job_start(kind="analytics.scores_refresh", actor=None).pk


@shared_task(name="guanxi.analytics.tasks.kpis_refresh_nightly")
def kpis_refresh_nightly() -> int:
    """Rebuild the last 13 months of KPI values: a safety net under the event-driven updates."""
    return job_start(kind="analytics.kpis_refresh", actor=None).pk


@shared_task(name="guanxi.analytics.tasks.dashboard_emails_weekly")
def dashboard_emails_weekly() -> int:
    """Send the weekly dashboard emails people asked for."""
    from . import services

    return services.dashboard_emails_send()
