"""A real Celery worker over the real Redis runs a job to completion while the test reads its progress."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from guanxi.core.jobs import job_start
from guanxi.core.models import Event, Job

from ..factories import UserFactory


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def redis_worker(redis_url):
    """A `guanxi worker` process on the test database with Redis as its broker."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "BROKER_URL": redis_url,
        "GUANXI_VAR_DIR": str(settings.VAR_DIR),
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    with open(settings.VAR_DIR / "test-worker.log", "w") as log:  # read it when this test fails
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "guanxi.cli",
                "worker",
                "--pool",
                "solo",
                "-n",
                f"test{os.getpid()}@%h",
                "--without-gossip",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        from guanxi.celery import app

        old_broker = app.conf.broker_url
        _use_broker(app, redis_url)
        app.conf.task_always_eager = False
        yield worker
        _use_broker(app, old_broker)
        worker.terminate()
        worker.wait(timeout=20)


def _use_broker(app, url: str) -> None:
    """Point this process's Celery app at another broker. The app's pools are kombu's process-wide ones,
    kept per broker: reset them all, or a later test would be handed the closed pool of the old broker."""
    from kombu import pools

    app.conf.broker_url = url
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_over_redis_runs_an_export_job_while_progress_is_readable(redis_worker):
    owner = UserFactory(roles=["administrator"])
    rows = 60_000
    user_type = ContentType.objects.get_for_model(owner)
    Event.objects.bulk_create(
        Event(content_type=user_type, object_id=i, object_repr=f"row {i}", action="updated", actor=owner)
        for i in range(rows)
    )
    job = job_start(kind="core.audit_export", actor=owner)
    readings = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job.refresh_from_db()
        readings.append((job.state, job.done, job.total))
        if job.is_finished:
            break
        time.sleep(0.02)
    assert job.state == Job.State.SUCCEEDED, (job.error, readings[-5:])
    assert job.result["rows"] >= rows
    assert job.done == job.total == job.result["rows"]
    done_values = [done for _state, done, _total in readings]
    assert done_values == sorted(done_values), "progress never goes backwards"
    assert any(state == Job.State.RUNNING and total and 0 < done < total for state, done, total in readings), (
        "the test saw the job part-way through"
    )
    assert (settings.VAR_DIR / "exports" / job.result["file"]).exists()
