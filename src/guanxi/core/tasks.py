"""Celery tasks for core: thin, they load and call."""

from celery import shared_task

from . import events, jobs


@shared_task(name="guanxi.core.tasks.events_dispatch")
def events_dispatch(batch_size: int = 500, partition: int = 0, partitions: int = 1) -> int:
    """Drain new events to the registered handlers."""
    total = 0
    while settled := events.events_dispatch_batch(batch_size=batch_size, partition=partition, partitions=partitions):
        total += settled
        if settled < batch_size:
            break
    return total


@shared_task(name="guanxi.core.tasks.job_run", acks_late=True)
def job_run(job_id: int) -> None:
    jobs.job_execute(job_id)


@shared_task(name="guanxi.core.tasks.jobs_reap_stale")
def jobs_reap_stale() -> int:
    return jobs.jobs_reap_stale()
