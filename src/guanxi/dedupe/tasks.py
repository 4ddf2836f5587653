"""Celery tasks for dedupe: thin, they call the service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .jobs import dedupe_run_start
from .models import DedupeSettings


@shared_task(name="guanxi.dedupe.tasks.dedupe_nightly")
def dedupe_nightly() -> int | None:
    """Beat calls this every hour; at the administrator's hour (local time) it queues an incremental run."""
    settings = DedupeSettings.load()
    if not settings.schedule_enabled or timezone.localtime().hour != settings.schedule_hour:
        return None
    return dedupe_run_start(actor=None, kind="auto").pk
