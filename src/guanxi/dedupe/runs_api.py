"""Dedupe runs over the API: start one (`POST /dedupe/runs`), list them (`GET /dedupe/runs`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Router, Schema, Status
from ninja.pagination import paginate

from guanxi.api.pagination import PageNumbers
from guanxi.api.schemas import InputSchema
from guanxi.core.api import JobOut, require_perm
from guanxi.core.http import AuthedRequest

from .jobs import dedupe_run_start
from .models import MatchRun

router = Router(tags=["dedupe"])


class RunIn(InputSchema):
    kind: Literal["auto", "full", "incremental"] = "auto"


class RunOut(Schema):
    id: int
    job_id: int | None
    kind: str
    started_at: datetime
    finished_at: datetime | None
    records_compared: int
    pairs_scored: int
    clusters_found: int
    watermark: datetime | None


@router.post("/dedupe/runs", response={202: JobOut})
def run_start(request: AuthedRequest, body: RunIn) -> Any:
    """Queue a dedupe run; follow its progress at /jobs/{id}. "auto": incremental after the first full run."""
    require_perm(request, "dedupe.add_matchrun")
    return Status(202, dedupe_run_start(actor=request.user, kind=body.kind))


@router.get("/dedupe/runs", response=list[RunOut])
@paginate(PageNumbers)
def runs_list(request: AuthedRequest) -> Any:
    """Past runs, newest first, with what each compared and found."""
    require_perm(request, "dedupe.view_matchrun")
    return MatchRun.objects.order_by("-id")
