"""Celery tasks for customers: thin, they call the service."""

from celery import shared_task

from . import services


@shared_task(name="guanxi.customers.tasks.tasks_remind_due")
def tasks_remind_due() -> int:
    """Remind people of their follow-up tasks that fall due within the hour."""
    return services.tasks_remind_due()


@shared_task(name="guanxi.customers.tasks.quality_recompute_nightly")
def quality_recompute_nightly() -> int:
    """Queue the nightly recompute of every completeness score as a job (its progress shows on the jobs page)."""
    return services.quality_recompute_start(actor=None).pk
