"""Dedupe API: candidate clusters, merge, dismiss, merges and undo. Thin: scope first, then the service."""

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from guanxi.api.pagination import PageNumbers
from guanxi.api.schemas import InputSchema
from guanxi.core.http import AuthedRequest

from . import selectors, services
from .models import DuplicateCluster, Merge
from .records import parse_ref

router = Router(tags=["dedupe"])


def _require(request: AuthedRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


class MemberOut(Schema):
    key: str
    record_type: str
    record_id: int
    name: str
    live: bool
    merged_into: str


class ReasonFieldOut(Schema):
    name: str
    level: str
    weight: float
    label: str


class ReasonOut(Schema):
    a: str
    b: str
    probability: float
    fields: list[ReasonFieldOut]


class ClusterOut(Schema):
    id: int
    score: float
    status: str
    members: list[MemberOut]
    reasons: list[ReasonOut]
    created_at: datetime
    updated_at: datetime


class FieldOut(Schema):
    name: str
    label: str
    values: dict[str, str]
    differs: bool
    default: str


class ClusterDetailOut(ClusterOut):
    survivor: str
    fields: list[FieldOut]


class ClusterFilters(Schema):
    status: DuplicateCluster.Status | None = None
    record_type: str | None = None


class MergeIn(InputSchema):
    survivor: str
    others: list[str] | None = None
    field_choices: dict[str, str] = {}
    cluster_updated_at: datetime | None = None


class MergeOut(Schema):
    id: int
    survivor: str
    merged: list[str]
    cluster: int | None
    by: int | None
    at: datetime
    undone_at: datetime | None
    undone_by: int | None
    event: int | None


def _cluster_out(cluster: DuplicateCluster, members: list[selectors.MemberView]) -> dict[str, Any]:
    return {
        "id": cluster.pk,
        "score": cluster.score,
        "status": cluster.status,
        "members": [
            {
                "key": m.key,
                "record_type": m.record_type,
                "record_id": m.record_id,
                "name": m.label,
                "live": m.is_live,
                "merged_into": m.merged_into,
            }
            for m in members
        ],
        "reasons": [
            {"a": r.a, "b": r.b, "probability": r.probability, "fields": [f.__dict__ for f in r.fields]}
            for r in selectors.cluster_reasons(cluster, members)
        ],
        "created_at": cluster.created_at,
        "updated_at": cluster.updated_at,
    }


def _merge_out(merge: Merge) -> dict[str, Any]:
    return {
        "id": merge.pk,
        "survivor": f"{merge.survivor_type}:{merge.survivor_id}",
        "merged": merge.merged_keys,
        "cluster": merge.cluster_id,
        "by": merge.by_id,
        "at": merge.at,
        "undone_at": merge.undone_at,
        "undone_by": merge.undone_by_id,
        "event": merge.event_id,
    }


def _clusters_page(request: AuthedRequest, items: list[DuplicateCluster]) -> None:
    members = selectors.cluster_members(items)
    items[:] = [_cluster_out(c, members[c.pk]) for c in items]  # type: ignore[misc]


@router.get("/dedupe/clusters", response=list[ClusterOut])
@paginate(PageNumbers, on_page=_clusters_page)
def cluster_list(request: AuthedRequest, filters: Query[ClusterFilters]) -> Any:
    """Candidate clusters, best score first; filter by status and by a member's record type."""
    _require(request, "dedupe.view_duplicatecluster")
    return selectors.clusters_visible_to(request.user, status=filters.status, record_type=filters.record_type)


@router.get("/dedupe/clusters/{cluster_id}", response=ClusterDetailOut)
def cluster_detail(request: AuthedRequest, cluster_id: int) -> Any:
    """One cluster with its members, reasons and the side-by-side values with the default choices."""
    _require(request, "dedupe.view_duplicatecluster")
    cluster = get_object_or_404(selectors.clusters_visible_to(request.user), pk=cluster_id)
    comparison = selectors.cluster_comparison(cluster, user=request.user)
    out = _cluster_out(cluster, comparison.members)
    out["survivor"] = comparison.survivor
    out["fields"] = [
        {
            "name": row.name,
            "label": row.label,
            "values": {c.key: c.shown for c in row.cells if c.present},
            "differs": row.differs,
            "default": row.default,
        }
        for row in comparison.rows
    ]
    return out


@router.post("/dedupe/clusters/{cluster_id}/merge", response={201: MergeOut})
def cluster_merge(request: AuthedRequest, cluster_id: int, body: MergeIn) -> Any:
    """Merge the cluster's records into `survivor` (default: all other live members) with per-field choices."""
    _require(request, "dedupe.merge_records")
    cluster = get_object_or_404(selectors.clusters_visible_to(request.user), pk=cluster_id)
    members = selectors.cluster_members([cluster])[cluster.pk]
    live = {m.key: m.record for m in members if m.is_live and m.record is not None}
    kind, pk = parse_ref(body.survivor, field="survivor")
    survivor_key = f"{kind}:{pk}"
    survivor = live.get(survivor_key)
    if survivor is None:
        raise ValidationError({"survivor": _("The survivor must be a live record of this cluster.")})
    wanted = body.others if body.others is not None else [k for k in live if k != survivor_key]
    others = []
    for key in wanted:
        ref = parse_ref(key, field="others")
        record = live.get(f"{ref[0]}:{ref[1]}")
        if record is None:
            raise ValidationError(
                {"others": _("“%(record)s” is not a live record of this cluster.") % {"record": key[:60]}}
            )
        others.append(record)
    merge = services.records_merge(
        survivor=survivor,
        others=others,
        field_choices=body.field_choices,
        actor=request.user,
        cluster=cluster,
        cluster_seen_at=body.cluster_updated_at,
    )
    return Status(201, _merge_out(merge))


@router.post("/dedupe/clusters/{cluster_id}/dismiss", response=ClusterOut)
def cluster_dismiss(request: AuthedRequest, cluster_id: int) -> Any:
    """ "Not a duplicate": every pair of the cluster is remembered and never proposed again."""
    _require(request, "dedupe.change_duplicatecluster")
    cluster = get_object_or_404(selectors.clusters_visible_to(request.user), pk=cluster_id)
    cluster = services.cluster_dismiss(cluster=cluster, actor=request.user)
    return _cluster_out(cluster, selectors.cluster_members([cluster])[cluster.pk])


def _merges_page(request: AuthedRequest, items: list[Merge]) -> None:
    items[:] = [_merge_out(m) for m in items]  # type: ignore[misc]


@router.get("/dedupe/merges", response=list[MergeOut])
@paginate(PageNumbers, on_page=_merges_page)
def merge_list(request: AuthedRequest) -> Any:
    """Merges, newest first, with who made and who undid them."""
    _require(request, "dedupe.view_merge")
    return selectors.merges_visible_to(request.user)


@router.post("/dedupe/merges/{merge_id}/undo", response=MergeOut)
def merge_undo(request: AuthedRequest, merge_id: int) -> Any:
    """Undo a merge (administrators): every record, value, row and link back as it was."""
    _require(request, "dedupe.change_merge")
    merge = get_object_or_404(selectors.merges_visible_to(request.user), pk=merge_id)
    return _merge_out(services.merge_undo(merge=merge, actor=request.user))
