"""Automation: events per second through rule matching with 200 active rules, and event → action latency."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import Any

from benchmarks.harness import Bench, CpuUse, cpu_use, percentile
from benchmarks.scenarios import scenario

MATCHING = 5  # rules whose conditions hold for every lead event (each writes a run and a notification)
ON_LEADS = 50  # rules listening to lead creation (the other 45 have conditions that do not hold)
RULES = 200
# Measured with the code before the dispatcher's batch path (one query set per event and rule, a savepoint and
# a run row insert per run, notifications one by one), on this machine, for comparison.
BEFORE = (
    "Before the batch path (commit 780dcfe): 5 events/s on SQLite — 2,000 events in 389 s (load 12–24), and "
    "500 events in 98.8 s (load 11–18) re-measured on 2026-11-24 with the same rules."
)


def _rules(owner: Any) -> None:
    from guanxi.automation.models import Rule

    notify = [{"kind": "notify", "config": {"to": "owner", "message": "新线索 {{ record }}"}}]
    rules = []
    for n in range(RULES):
        if n < MATCHING:
            config, conditions = (
                {"model": "customers.lead"},
                {
                    "match": "all",
                    "groups": [{"match": "all", "rules": [{"field": "source", "op": "eq", "value": "web"}]}],
                },
            )
        elif n < ON_LEADS:
            config, conditions = (
                {"model": "customers.lead"},
                {
                    "match": "all",
                    "groups": [{"match": "all", "rules": [{"field": "source", "op": "eq", "value": "partner"}]}],
                },
            )
        else:
            model = ("customers.contact", "customers.account")[n % 2]
            config, conditions = {"model": model}, {}
        rules.append(
            Rule(
                name=f"bench {n}",
                active=True,
                trigger="record.created",
                trigger_config=config,
                conditions=conditions,
                actions=notify,
                created_by=owner,
                updated_by=owner,
            )
        )
    Rule.objects.all().delete()
    Rule.objects.bulk_create(rules)


def _leads(count: int, owner: Any, start: int) -> list[int]:
    from django.db import connection
    from django.utils import timezone

    from guanxi.core.bulk import insert_rows
    from guanxi.customers.models import Lead

    now = connection.ops.adapt_datetimefield_value(timezone.now())
    fields = ["surname", "given_name", "full_name", "name_pinyin", "name_initials", "company_name"]
    fields += ["company_pinyin", "company_initials", "phone", "email", "source", "status", "notes", "owner"]
    fields += ["created_at", "updated_at", "completeness", "custom"]
    tail = ("", owner.pk, now, now, 0, "{}")
    rows = (
        (
            "王",
            f"芳{i}",
            f"王芳{i}",
            "wangfang",
            "wf",
            f"公司 {i}",
            "gongsi",
            "gs",
            f"+86139{i:08d}",
            "",
            "web",
            "new",
            *tail,
        )
        for i in range(start, start + count)
    )
    before = Lead.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    insert_rows(model=Lead, fields=fields, rows=rows)
    return list(Lead.objects.filter(pk__gt=before).order_by("pk").values_list("pk", flat=True))


def _events(lead_ids: list[int], owner: Any) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from guanxi.core.models import Event
    from guanxi.customers.models import Lead

    ct = ContentType.objects.get_for_model(Lead)
    now = timezone.now()
    Event.objects.bulk_create(
        [
            Event(
                content_type=ct, object_id=pk, object_repr=f"lead {pk}", action="created", actor=owner, occurred_at=now
            )
            for pk in lead_ids
        ],
        batch_size=2000,
    )


def _drain(batch_size: int = 500) -> int:
    from guanxi.core.events import events_dispatch_batch

    total = 0
    while settled := events_dispatch_batch(batch_size=batch_size):
        total += settled
    return total


_WORKER = """
import sys, time, django
django.setup()
from guanxi.core.tasks import events_dispatch
from guanxi.core.models import Event
Event.objects.exists()  # connected and warm
print("ready", flush=True)
sys.stdin.readline()  # wait for the go: every worker starts draining at the same moment
began, cpu = time.perf_counter(), time.process_time()
done = events_dispatch(500, int(sys.argv[1]), int(sys.argv[2]))
print(done, time.perf_counter() - began, time.process_time() - cpu, flush=True)
"""


def _parallel(workers: int) -> tuple[int, float, CpuUse]:
    """`workers` processes drain their partitions of the backlog together. Timed from the moment all of them,
    started and connected, are told to go until the last one is done (Python and Django start-up not counted)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(part), str(workers)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ,
        )
        for part in range(workers)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    with cpu_use() as use:
        began = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = [p.communicate()[0].split() for p in procs]
        seconds = time.perf_counter() - began
    use.ours = round(sum(float(r[2]) for r in reports) / seconds, 2)  # the workers' own CPU while draining
    return sum(int(r[0]) for r in reports), seconds, use


@scenario(name="automation", title="Automation: events through 200 active rules", default_size=20_000, order=60)
def automation(bench: Bench) -> dict[str, Any]:
    """`size` lead `created` events (rows written with `insert_rows`, events with `bulk_create`) drained by
    the event spine's dispatcher (`events_dispatch_batch`, 500 per batch) with 200 active rules: 5 whose
    conditions hold (each writes its run row and a notification through `notification_send`), 45 more on
    lead creation whose conditions do not hold, 150 on contacts and accounts (the index never hands them a
    lead event). One worker: the dispatcher in this process. Two workers: two processes each draining its
    partition of the same backlog (`events_dispatch(partition=k, partitions=2)`, as two Celery workers
    would; called directly, not through the broker; timed from a common start signal once both are up and
    connected). Latency: events written in chunks of 100 every 100 ms
    (1,000/s) for 10 s by a thread while this process drains; p50/p95/max of run `created_at` − event
    `occurred_at` over every run."""
    from django.core.management import call_command
    from django.db import connection

    from guanxi.automation.engine import index_invalidate
    from guanxi.automation.models import RuleRun
    from guanxi.core.models import Event, User

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    owner = User.objects.create_user("bench-owner@example.com", full_name="Bench owner")
    _rules(owner)
    index_invalidate()
    migrated = time.perf_counter()
    throughput = []

    lead_ids = _leads(bench.size, owner, 0)
    _events(lead_ids, owner)
    bench.analyze()
    began = time.perf_counter()
    with cpu_use() as one_cpu:
        done = _drain()
    seconds = time.perf_counter() - began
    runs = RuleRun.objects.count()
    cpu = [f"CPU during the one-worker run: {one_cpu.text()} (the rest is the database server and other work)."]
    bench.say(f"one worker: {done} events, {runs} runs in {seconds:.1f} s")
    throughput.append(
        {
            "label": "1 worker, 200 rules",
            "rows": done,
            "seconds": round(seconds, 2),
            "rows_per_s": round(done / seconds),
        }
    )

    if connection.vendor == "postgresql":  # SQLite has one writer at a time: a second worker cannot add speed
        lead_ids = _leads(bench.size, owner, bench.size)
        _events(lead_ids, owner)
        connection.close()
        done2, seconds2, two_cpu = _parallel(2)
        cpu.append(f"CPU during the two-worker run: {two_cpu.text()}.")
        bench.say(f"two workers: {done2} events in {seconds2:.1f} s")
        throughput.append(
            {
                "label": "2 worker processes, 200 rules",
                "rows": done2,
                "seconds": round(seconds2, 2),
                "rows_per_s": round(done2 / seconds2),
            }
        )

    # latency at 1,000 events/s
    paced_leads = _leads(10_000, owner, 2 * bench.size)
    first_event = (Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    stop = threading.Event()

    def produce() -> None:
        try:
            for start in range(0, len(paced_leads), 100):
                tick = time.perf_counter()
                _events(paced_leads[start : start + 100], owner)
                time.sleep(max(0.0, 0.1 - (time.perf_counter() - tick)))
        finally:
            connection.close()
            stop.set()

    producer = threading.Thread(target=produce)
    producer.start()
    while not stop.is_set():
        if not _drain():
            time.sleep(0.01)
    producer.join()
    _drain()
    latencies = sorted(
        (run.created_at - run.event.occurred_at).total_seconds() * 1000
        for run in RuleRun.objects.filter(event_id__gte=first_event)
        .select_related("event")
        .only("created_at", "event__occurred_at")
    )
    p50, p95 = round(percentile(latencies, 0.5)), round(percentile(latencies, 0.95))
    bench.say(f"latency at 1,000 events/s: p50 {p50} ms, p95 {p95} ms over {len(latencies)} runs")
    return {
        "sizes": {"events": bench.size, "rules": RULES},
        "setup": {"migrate_s": round(migrated - started, 1)},
        "throughput": throughput,
        "ratios": (
            {"2 workers / 1 worker": round(throughput[1]["rows_per_s"] / throughput[0]["rows_per_s"], 2)}
            if len(throughput) > 1
            else {}
        ),
        "notes": [
            f"{runs:,} rule runs for {done:,} events (5 matching rules each).",
            BEFORE,
            *cpu,
            f"Event → action latency with events arriving at 1,000/s for 10 s: p50 {p50} ms, p95 {p95} ms, "
            f"max {round(latencies[-1]) if latencies else 0} ms over {len(latencies):,} runs.",
        ],
    }
