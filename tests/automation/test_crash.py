"""Crash test: a real `guanxi worker` over the real Redis drains a batch of events through the rules; it is
killed with SIGKILL mid-batch and another worker takes over. Every event is handled exactly once in effect."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from django.conf import settings

from guanxi.automation.models import RuleRun
from guanxi.core.models import Event
from guanxi.customers.models import Interaction, Lead

from ..core.test_worker_redis import _database_url, _use_broker
from ..customers import factories
from ..factories import TeamFactory, UserFactory
from .helpers import make_rule

LEADS = 240


def _start_worker(redis_url: str, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "BROKER_URL": redis_url,
        "GUANXI_VAR_DIR": str(settings.VAR_DIR),
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    log = open(settings.VAR_DIR / f"crash-{name}.log", "w")  # noqa: SIM115  (read it when this test fails)
    command = [sys.executable, "-m", "guanxi.cli", "worker", "--pool", "solo", "-n", f"{name}{os.getpid()}@%h"]
    return subprocess.Popen([*command, "--without-gossip"], env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_acts_once(redis_url):
    import redis

    from guanxi.celery import app
    from guanxi.core.tasks import events_dispatch

    base, number = redis_url.rsplit("/", 1)
    url = f"{base}/{int(number) + 1}"  # apart from core's worker test, so the two can run at once
    redis.Redis.from_url(url).flushdb()
    admin = UserFactory(roles=["administrator"], teams=[TeamFactory()])
    make_rule(
        admin,
        actions=[
            {"kind": "add_tag", "config": {"tag": "自动 auto"}},
            {"kind": "create_task", "config": {"subject": "跟进 {{ record }}", "due_in_days": 1}},
        ],
    )
    leads = [factories.lead(owner=admin) for _ in range(LEADS)]
    old_broker = app.conf.broker_url
    _use_broker(app, url)
    app.conf.task_always_eager = False
    first = _start_worker(url, "crash1")
    second = None
    try:
        events_dispatch.apply_async(kwargs={"batch_size": 20})
        _wait(lambda: RuleRun.objects.count() >= 40, 120, "the first worker to settle some batches")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=20)
        done_at_kill = RuleRun.objects.count()
        assert done_at_kill < LEADS, "the worker was killed part-way"
        second = _start_worker(url, "crash2")
        events_dispatch.apply_async(kwargs={"batch_size": 20})
        _wait(lambda: not Event.objects.filter(dispatched_at__isnull=True).exists(), 180, "the outbox to drain")
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=20)
        _use_broker(app, old_broker)
    runs = Counter(RuleRun.objects.values_list("record_id", flat=True))
    assert len(runs) == LEADS and set(runs.values()) == {1}, "one run per lead event"
    assert set(RuleRun.objects.values_list("outcome", flat=True)) == {"ok"}
    tasks = Counter(Interaction.objects.filter(kind="task").values_list("lead_id", flat=True))
    assert len(tasks) == LEADS and set(tasks.values()) == {1}, "each lead got exactly one task"
    tagged = Lead.objects.filter(pk__in=[lead.pk for lead in leads], tags__name="自动 auto").count()
    assert tagged == LEADS
    print(f"killed after {done_at_kill} of {LEADS} runs")
