"""Celery tasks for feedback: thin, they call the service."""

from celery import shared_task

from . import services


@shared_task(name="guanxi.feedback.tasks.feedback_deadlines")
def feedback_deadlines() -> int:
    """Remind owners before a response deadline and escalate after it (idempotent)."""
    return services.feedback_deadlines_check()


@shared_task(name="guanxi.feedback.tasks.surveys_scheduled")
def surveys_scheduled() -> dict[str, int]:
    """Send the due scheduled surveys and the onboarding surveys (idempotent: each run and customer once)."""
    runs = services.survey_schedules_run()
    onboarding = services.survey_onboarding_run()
    return {**runs, "onboarding_sent": onboarding["sent"]}
