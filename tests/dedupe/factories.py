"""Clusters for the dedupe tests, stored the way the engine stores them (`clusters_store`)."""

from __future__ import annotations

from typing import Any

from guanxi.dedupe import services
from guanxi.dedupe.models import DuplicateCluster, MatchRun


def reason(a: str, b: str, probability: float = 0.97) -> dict[str, Any]:
    """One pair's reason as the engine writes it: which fields agreed and how strongly."""
    return {
        "a": a,
        "b": b,
        "probability": probability,
        "fields": {
            "name": {"level": "fuzzy", "weight": 4.2, "label": "name similar"},
            "phone": {"level": "exact", "weight": 7.5, "label": "phone exact"},
            "email": {"level": "different", "weight": -2.1, "label": "email different"},
        },
    }


def cluster(*records: Any, score: float = 0.97) -> DuplicateCluster:
    """A stored open cluster of these records, with a reason for each consecutive pair."""
    refs = [services.ref_of(r) for r in records]
    keys = [f"{t}:{i}" for t, i in refs]
    reasons = [reason(keys[i], keys[i + 1], score) for i in range(len(keys) - 1)]
    run = MatchRun.objects.create(kind=MatchRun.Kind.FULL)
    services.clusters_store(run, [(refs, score, reasons)])
    return DuplicateCluster.objects.filter(members__record_type=refs[0][0], members__record_id=refs[0][1]).latest("id")
