"""Celery tasks and jobs of the service desk: thin, they call the services."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils.translation import gettext_noop

from guanxi.core.jobs import Progress, job_kind
from guanxi.core.models import Job


@shared_task(name="guanxi.service.tasks.sla_sweep")
def sla_sweep() -> dict[str, int]:
    """Every minute: warnings before SLA breaches and escalation of breaches (each happens once per ticket)."""
    from . import services

    return services.sla_sweep()


@job_kind("service.sla_sweep", gettext_noop("SLA sweep"), permission="service.change_ticket")
def sla_sweep_job(job: Job, progress: Progress) -> dict[str, Any]:
    """The same sweep as a job with progress, for an administrator who wants to run it now."""
    from . import services

    return services.sla_sweep(progress=lambda done, total: progress(done, total, ""))


@shared_task(name="guanxi.service.tasks.ticket_message_email", autoretry_for=(OSError,), retry_backoff=True)
def ticket_message_email(message_id: int) -> bool:
    """Email an agent's public reply to the customer."""
    from .mail import ticket_message_send
    from .models import TicketMessage

    message = TicketMessage.objects.select_related("ticket").filter(pk=message_id, emailed_at__isnull=True).first()
    return ticket_message_send(message) if message is not None else False
