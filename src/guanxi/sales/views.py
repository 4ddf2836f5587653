"""Sales pages: pipelines and their kanban boards, deals, reports, sales settings."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from guanxi.core.http import AuthedRequest
from guanxi.core.views import staff_perm

from . import selectors


@staff_perm("sales.view_deal")
def pipeline_list(request: AuthedRequest) -> HttpResponse:
    return render(request, "sales/pipeline_list.html", {"pipelines": selectors.pipelines_active()})
