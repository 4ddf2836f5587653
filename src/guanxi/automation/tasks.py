"""Celery tasks for automation: thin, they call the engine and the webhook sender."""

from celery import shared_task

from . import engine, webhooks


@shared_task(name="guanxi.automation.tasks.rules_sweep_timed")
def rules_sweep_timed() -> int:
    """Run the time-based and scheduled rules that are due (beat, every minute)."""
    return engine.rules_sweep_timed()


@shared_task(name="guanxi.automation.tasks.webhook_deliver", acks_late=True)
def webhook_deliver(delivery_id: int) -> None:
    webhooks.webhook_deliver(delivery_id)


@shared_task(name="guanxi.automation.tasks.webhook_retries_due")
def webhook_retries_due() -> int:
    """Queue the next attempt of failed deliveries whose back-off has passed (beat)."""
    return webhooks.webhook_retries_due()
