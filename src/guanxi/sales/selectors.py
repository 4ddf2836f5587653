"""Sales reads, always scoped to the user."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Pipeline


def pipelines_active() -> QuerySet[Pipeline]:
    """Pipelines in use, default first then by position."""
    return Pipeline.objects.filter(active=True).order_by("-is_default", "position", "id")
