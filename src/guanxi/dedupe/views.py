"""Duplicate pages: the review queue, a cluster's side-by-side comparison, merges with undo, settings."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.forms import apply_service_errors
from guanxi.core.http import AuthedRequest
from guanxi.core.views import page_of, staff_perm

from . import selectors, services
from .forms import DedupeSettingsForm
from .models import DedupeSettings, DuplicateCluster, RecordType
from .records import CHOOSABLE, CUSTOM_PREFIX, MODELS, parse_ref


@staff_perm("dedupe.view_duplicatecluster")
def queue(request: AuthedRequest) -> HttpResponse:
    status = request.GET.get("status", DuplicateCluster.Status.OPEN)
    status = status if status in DuplicateCluster.Status.values else ""
    record_type = request.GET.get("type", "")
    record_type = record_type if record_type in MODELS else ""
    page = page_of(request, selectors.clusters_visible_to(request.user, status=status, record_type=record_type))
    clusters = list(page.object_list)
    members = selectors.cluster_members(clusters)
    rows = [(c, members[c.pk], selectors.cluster_reasons(c, members[c.pk])[:1]) for c in clusters]
    query = urlencode({k: v for k, v in {"status": status, "type": record_type}.items()})
    context = {
        "page": page,
        "rows": rows,
        "status": status,
        "record_type": record_type,
        "statuses": selectors.status_choices(),
        "record_types": RecordType.choices,
        "query": query,
    }
    return render(request, "dedupe/queue.html", context)


def _cluster_for(request: AuthedRequest, pk: int) -> DuplicateCluster:
    return get_object_or_404(selectors.clusters_visible_to(request.user), pk=pk)


@staff_perm("dedupe.view_duplicatecluster")
def cluster_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    cluster = _cluster_for(request, pk)
    comparison = selectors.cluster_comparison(cluster, user=request.user)
    live = [m for m in comparison.members if m.is_live]
    context = {
        "cluster": cluster,
        "comparison": comparison,
        "live": live,
        "gone": [m for m in comparison.members if not m.is_live],
        "can_merge": cluster.is_open and len(live) > 1 and request.user.has_perm("dedupe.merge_records"),
        "can_dismiss": cluster.is_open and request.user.has_perm("dedupe.change_duplicatecluster"),
        "merges": cluster.merges.select_related("by").order_by("-id"),
    }
    return render(request, "dedupe/cluster_detail.html", context)


@require_POST
@staff_perm("dedupe.merge_records")
def cluster_merge(request: AuthedRequest, pk: int) -> HttpResponse:
    cluster = _cluster_for(request, pk)
    members = selectors.cluster_members([cluster])[cluster.pk]
    live = {m.key: m.record for m in members if m.is_live and m.record is not None}
    survivor = live.get(request.POST.get("survivor", ""))
    if survivor is None:
        messages.error(request, _("Choose the record that survives."))
        return redirect(cluster)
    kind = parse_ref(request.POST["survivor"])[0]
    names = [*CHOOSABLE[kind], *(n for n in request.POST if n.startswith("choice_" + CUSTOM_PREFIX))]
    choices = {}
    for name in names:
        name = name.removeprefix("choice_")
        value = request.POST.get(f"choice_{name}")
        if value:
            choices[name] = value
    seen = parse_datetime(request.POST.get("seen", "")) if request.POST.get("seen") else None
    try:
        services.records_merge(
            survivor=survivor,
            others=[r for key, r in live.items() if r is not survivor],
            field_choices=choices,
            actor=request.user,
            cluster=cluster,
            cluster_seen_at=seen,
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(cluster)
    survivor.refresh_from_db()
    messages.success(request, _("Merged into %(record)s.") % {"record": survivor})
    return redirect("dedupe-merges")


@require_POST
@staff_perm("dedupe.change_duplicatecluster")
def cluster_dismiss(request: AuthedRequest, pk: int) -> HttpResponse:
    cluster = _cluster_for(request, pk)
    try:
        services.cluster_dismiss(cluster=cluster, actor=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(cluster)
    messages.success(request, _("Marked as not duplicates; these records will not be proposed together again."))
    return redirect("dedupe-queue")


@staff_perm("dedupe.view_merge")
def merge_list(request: AuthedRequest) -> HttpResponse:
    page = page_of(request, selectors.merges_visible_to(request.user))
    merges = list(page.object_list)
    records = selectors.merge_records(merges)
    rows = [
        (
            m,
            records.get(f"{m.survivor_type}:{m.survivor_id}"),
            [records.get(f"{x['type']}:{x['id']}") or f"{x['type']}:{x['id']}" for x in m.merged],
        )
        for m in merges
    ]
    return render(request, "dedupe/merge_list.html", {"page": page, "rows": rows})


@require_POST
@staff_perm("dedupe.change_merge")
def merge_undo(request: AuthedRequest, pk: int) -> HttpResponse:
    merge = get_object_or_404(selectors.merges_visible_to(request.user), pk=pk)
    try:
        services.merge_undo(merge=merge, actor=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Merge undone: the records are back as they were."))
    return redirect("dedupe-merges")


@staff_perm("dedupe.change_dedupesettings")
def dedupe_settings(request: AuthedRequest) -> HttpResponse:
    row = DedupeSettings.load()
    form = DedupeSettingsForm(request.POST or None, initial=row.as_dict())
    if request.method == "POST" and form.is_valid():
        try:
            services.dedupe_settings_set(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Duplicate settings saved."))
            return redirect("dedupe-settings")
    return render(request, "dedupe/settings.html", {"form": form, "settings": row})
