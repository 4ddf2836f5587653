"""Duplicate pages: the review queue, a cluster's side-by-side comparison, merges with undo, settings."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from guanxi.core.http import AuthedRequest
from guanxi.core.views import page_of, staff_perm

from . import selectors


@staff_perm("dedupe.view_duplicatecluster")
def queue(request: AuthedRequest) -> HttpResponse:
    clusters = selectors.clusters_visible_to(request.user)
    return render(request, "dedupe/queue.html", {"page": page_of(request, clusters)})
