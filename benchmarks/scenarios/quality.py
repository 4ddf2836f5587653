"""Data quality: recomputing every contact's completeness score, as the nightly job and a weights change do."""

from __future__ import annotations

import random
import time
from typing import Any

from benchmarks.harness import Bench
from benchmarks.scenarios import scenario

FIELDS = [
    "surname",
    "given_name",
    "full_name",
    "name_pinyin",
    "name_initials",
    "phone",
    "email",
    "title",
    "province",
    "city",
    "district",
    "street",
    "lifecycle_stage",
    "created_at",
    "updated_at",
    "completeness",
]


@scenario(name="quality", title="Data quality: recompute every completeness score", default_size=1_000_000, order=40)
def quality_recompute(bench: Bench) -> dict[str, Any]:
    """Time `quality.scores_recompute("contact")` — what the `customers.quality_recompute` job runs — over
    `size` contacts written with `insert_rows` (seed 1: 90% with a phone, 60% an email, half a job title,
    half a province; no account links), in chunks of 5,000 primary keys, one transaction each. Two runs:
    after every stored score was set to 0 (every row's score is written again, as after a weights change
    or an upgrade), and straight after (nothing changes, as most nights). Each run is one timed call;
    the p50, p95 and max columns all show its wall time."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from guanxi.core.demo import insert_rows
    from guanxi.customers import quality
    from guanxi.customers.models import Contact

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    migrated = time.perf_counter()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rng = random.Random(1)

    def rows() -> Any:
        for i in range(bench.size):
            phone = f"+86138{i:08d}" if rng.random() < 0.9 else ""
            email = f"u{i}@example.com" if rng.random() < 0.6 else ""
            title = "经理" if rng.random() < 0.5 else ""
            province = "浙江" if rng.random() < 0.5 else ""
            name = ("张", f"伟{i}", f"张伟{i}", "zhangwei", "zw")
            yield (*name, phone, email, title, province, "杭州", "", "", "lead", now, now, 0)

    insert_rows(model=Contact, fields=FIELDS, rows=rows())
    loaded = time.perf_counter()
    bench.analyze()
    bench.say(f"loaded {bench.size} contacts in {loaded - migrated:.1f} s")
    results = []
    for label in ("every stored score stale", "no score changes"):
        if label.startswith("every"):
            Contact.objects.update(completeness=0)
        began = time.perf_counter()
        outcome = quality.scores_recompute("contact", on_chunk=lambda done: None)
        ms = round((time.perf_counter() - began) * 1000)
        bench.say(f"{label}: {outcome} in {ms} ms")
        results.append(
            {
                "label": f"recompute {bench.size:,} contacts, {label} ({outcome['changed']:,} written)",
                "matching_rows": outcome["records"],
                "requests": 1,
                "p50_ms": ms,
                "p95_ms": ms,
                "max_ms": ms,
            }
        )
    return {
        "sizes": {"contacts": bench.size},
        "setup": {"migrate_s": round(migrated - started, 1), "load_s": round(loaded - migrated, 1)},
        "server": "no web server (the job's function called in-process)",
        "rows": results,
    }
