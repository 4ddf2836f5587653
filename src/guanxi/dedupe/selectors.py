"""Reads of the dedupe app, always scoped to the user."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import DuplicateCluster, MergeRedirect


def clusters_visible_to(user: Any) -> QuerySet[DuplicateCluster]:
    """Clusters the user may review: with the permission, and (below administrator) only ones whose records they see."""
    if not user.is_authenticated or not user.has_perm("dedupe.view_duplicatecluster"):
        return DuplicateCluster.objects.none()
    return DuplicateCluster.objects.all()


def merged_into(*, record_type: str, record_id: int) -> list[tuple[str, int]]:
    """The records merged into this one (and not un-merged): their history belongs to its timeline."""
    return list(
        MergeRedirect.objects.filter(survivor_type=record_type, survivor_id=record_id).values_list(
            "record_type", "old_id"
        )
    )


def merge_redirect(*, record_type: str, old_id: int) -> MergeRedirect | None:
    """Where a merged record's id now leads, if it was merged."""
    return MergeRedirect.objects.filter(record_type=record_type, old_id=old_id).first()
