""" "Run now": start a dedupe run from the review queue (the engine's part of the dedupe pages)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.http import AuthedRequest
from guanxi.core.views import staff_perm

from .jobs import dedupe_run_start


@require_POST
@staff_perm("dedupe.add_matchrun")
def run_now(request: AuthedRequest) -> HttpResponse:
    """Queue a run (incremental after the first, or full when asked) and show its progress."""
    try:
        job = dedupe_run_start(actor=request.user, kind=request.POST.get("kind") or "auto")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("dedupe-queue")
    messages.success(request, _("Duplicate detection has started."))
    return redirect(job)
