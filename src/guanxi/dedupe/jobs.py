"""The dedupe job: read every contact, account and lead, match them, store the clusters for review.

Started on demand ("Run now" on /dedupe/, `POST /api/v1/dedupe/runs`) or every night by beat. The first
run is full; later runs are incremental unless a full one is asked for: only records created or changed
since the last run's watermark are compared, against the whole base through the same blocking keys, with
the weights the last full run estimated. Every run stores each record's blocking keys (`BlockKey`), so an
incremental run reads only the changed records and the records sharing a key with them.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.core.events import record_event
from guanxi.core.jobs import Progress, job_kind, job_start
from guanxi.core.models import Job, User

from . import features
from .matching import Cluster, Params, match
from .models import DedupeSettings, MatchRun, NotDuplicate, record_key

DEDUPE_RUN = "dedupe.run"
KINDS = ("auto", MatchRun.Kind.FULL, MatchRun.Kind.INCREMENTAL)
# share of the progress bar per stage
_STAGES = {"reading": (0, 40), "blocking": (40, 50), "comparing": (50, 70), "estimating": (70, 80)}
_STAGES |= {"clustering": (80, 90), "storing": (90, 100)}
_STAGE_LABELS = {
    "reading": gettext_noop("Reading records"),
    "blocking": gettext_noop("Finding candidate pairs"),
    "comparing": gettext_noop("Comparing pairs"),
    "estimating": gettext_noop("Estimating weights"),
    "clustering": gettext_noop("Building clusters"),
    "storing": gettext_noop("Storing clusters"),
}


def dedupe_run_start(*, actor: User | None, kind: str = "auto") -> Job:
    """Queue a dedupe run: "auto" (incremental after a first full run), "full" or "incremental"."""
    from django.core.exceptions import ValidationError

    if kind not in KINDS:
        raise ValidationError({"kind": _("Choose auto, full or incremental.")})
    return job_start(kind=DEDUPE_RUN, actor=actor, params={"kind": kind})


def last_model_run() -> MatchRun | None:
    """The latest finished run whose estimated weights later incremental runs reuse."""
    for run in MatchRun.objects.filter(finished_at__isnull=False).order_by("-id")[:20]:
        if run.params.get("model"):
            return run
    return None


@transaction.atomic
def match_run_begin(*, job: Job | None, kind: str) -> MatchRun:
    run = MatchRun.objects.create(job=job, kind=kind)
    record_event(obj=run, action="created", actor=None, data={"kind": kind})
    return run


@transaction.atomic
def match_run_finish(*, run: MatchRun, records: int, pairs: int, params: dict[str, Any], watermark: Any) -> MatchRun:
    MatchRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(), records_compared=records, pairs_scored=pairs, params=params, watermark=watermark
    )
    run.refresh_from_db()
    record_event(
        obj=run,
        action="status_changed",
        actor=None,
        data={"records": records, "pairs": pairs, "clusters": run.clusters_found},
    )
    return run


def not_duplicates() -> set[frozenset[str]]:
    rows = NotDuplicate.objects.values_list("record_type_a", "id_a", "record_type_b", "id_b")
    return {frozenset((record_key(ta, a), record_key(tb, b))) for ta, a, tb, b in rows.iterator(chunk_size=5000)}


def _as_store(clusters: list[Cluster]) -> list[tuple[list[tuple[str, int]], float, list[dict[str, Any]]]]:
    stored = []
    for cluster in clusters:
        members = []
        for key in cluster.members:
            record_type, _colon, pk = key.partition(":")
            members.append((record_type, int(pk)))
        stored.append((members, cluster.score, cluster.reasons))
    return stored


def dedupe_run(*, job: Job | None, kind: str = "auto", progress: Progress | None = None) -> dict[str, Any]:
    """The job's work; also callable directly (benchmarks, tests). Returns the run's figures."""
    from .services import cluster_auto_merge, clusters_store

    report = progress or (lambda done, total, message: None)

    began: dict[str, float] = {}  # when each stage started, for the run's figures

    def say(stage: str, share: float) -> None:
        began.setdefault(stage, time.perf_counter())
        low, high = _STAGES[stage]
        report(int(low + (high - low) * share), 100, _(_STAGE_LABELS[stage]))

    settings = DedupeSettings.load()
    previous = last_model_run()
    incremental = kind == MatchRun.Kind.INCREMENTAL or (kind == "auto" and previous is not None)
    if previous is None or previous.watermark is None:
        incremental = False
    started = timezone.now()
    run = match_run_begin(job=job, kind=MatchRun.Kind.INCREMENTAL if incremental else MatchRun.Kind.FULL)
    say("reading", 0.0)
    since = previous.watermark if incremental and previous else None
    keys_stored = bool(incremental and previous and previous.params.get("keys_stored"))
    records, fresh = features.load_records(
        since=since, progress=lambda done, total: say("reading", done / max(total, 1)), keys_stored=keys_stored
    )
    params = Params.from_json(previous.params["model"]) if incremental and previous else None
    threshold = float(settings.review_threshold)
    result = match(
        records,
        features.COMPARISONS,
        features.RULES,
        threshold=threshold,
        params=params,
        skip=not_duplicates(),
        max_block=settings.max_block_size,
        progress=say,
    )
    say("storing", 0.0)
    stored = clusters_store(run, _as_store(result.clusters)) if result.clusters else 0
    # the keys the next incremental run finds its candidates by: all of them unless only the fresh changed
    features.block_keys_store(records, replace_all=not keys_stored)
    merged = 0
    if settings.auto_merge_threshold is not None:
        for cluster in run.clusters.filter(status="open", score__gte=settings.auto_merge_threshold):
            if cluster_auto_merge(cluster=cluster) is not None:
                merged += 1
    summary = {
        "run": run.pk,
        "kind": run.kind,
        "records": len(records),
        "fresh": fresh,
        "pairs": int(result.stats["pairs_scored"]),
        "clusters": len(result.clusters),
        "clusters_stored": stored,
        "auto_merged": merged,
    }
    match_run_finish(
        run=run,
        records=fresh,
        pairs=int(result.stats["pairs_scored"]),
        params={
            "model": (params or result.params).as_json(),
            "threshold": threshold,
            "max_block_size": settings.max_block_size,
            "keys_stored": True,
            "stats": {k: v for k, v in result.stats.items() if k != "rules"} | {"rules": result.stats.get("rules")},
        },
        watermark=started,
    )
    report(100, 100, _("Done"))
    ended = time.perf_counter()
    order = sorted(began, key=began.__getitem__)
    summary["seconds"] = {
        stage: round((began[order[k + 1]] if k + 1 < len(order) else ended) - began[stage], 1)
        for k, stage in enumerate(order)
    }
    return summary


@job_kind(DEDUPE_RUN, gettext_noop("Duplicate detection"), permission="dedupe.add_matchrun")
def dedupe_job(job: Job, progress: Progress) -> dict[str, Any]:
    """Find duplicate contacts, accounts and leads; the clusters go to the review queue."""
    return dedupe_run(job=job, kind=str(job.params.get("kind") or "auto"), progress=progress)
