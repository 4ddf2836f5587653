"""Celery tasks for feedback: thin, they call the service."""

from celery import shared_task

from . import services


@shared_task(name="guanxi.feedback.tasks.feedback_deadlines")
def feedback_deadlines() -> int:
    """Remind owners before a response deadline and escalate after it (idempotent)."""
    return services.feedback_deadlines_check()
