"""Sales pages: pipelines and their kanban boards, deals, reports, sales settings. Thin: selectors and services."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.customfields import custom_display
from guanxi.core.forms import apply_service_errors, custom_from_cleaned
from guanxi.core.http import AuthedRequest
from guanxi.core.selectors import object_history
from guanxi.core.views import list_page, page_of, staff_perm
from guanxi.customers import selectors as customer_selectors

from . import lists, selectors, services
from .forms import (
    AssignmentRuleForm,
    CurrencyForm,
    DealForm,
    DealLineForm,
    DealMoveForm,
    DealTaskForm,
    LostReasonForm,
    PipelineForm,
    SalesSettingsForm,
    StageForm,
)
from .models import (
    AssignmentRule,
    Currency,
    Deal,
    DealProduct,
    DealStatus,
    DealTask,
    LostReason,
    Pipeline,
    Stage,
    StageKind,
)

# --- pipelines and the board --------------------------------------------------------------------


@staff_perm("sales.view_deal")
def pipeline_list(request: AuthedRequest) -> HttpResponse:
    pipelines = selectors.pipelines_active()
    if len(pipelines) == 1 and not request.GET:
        return redirect("pipeline-board", pipelines[0].pk)
    return render(request, "sales/pipeline_list.html", {"pipelines": pipelines})


def _cards(deals: list[dict[str, Any]], cutoff: Any, stale_label: str) -> str:
    """The cards of a column as HTML, built here rather than in a template: a board renders hundreds per
    request and the template engine was most of the page's time. Every value is escaped."""
    detail = reverse("deal-detail", args=[0])[: -len("0/")]
    parts = []
    for deal in deals:
        amount = "" if deal["amount"] is None else f"{deal['currency__code']} {deal['amount']:,.0f}"
        close = deal["expected_close"].isoformat() if deal["expected_close"] else ""
        stale = deal["status"] == DealStatus.OPEN and deal["last_activity_at"] < cutoff
        owner = deal["owner__full_name"] or deal["owner__email"] or ""
        parts.append(
            f'<div class="card card-sm gx-deal mb-2" data-deal-id="{deal["id"]}" '
            f'data-amount="{deal["amount_cny"] or 0:.2f}"><div class="card-body p-2">'
            f'<a href="{detail}{deal["id"]}/" class="fw-medium text-break d-block">{escape(deal["name"])}</a>'
            + (
                f'<div class="small text-secondary text-truncate">{escape(deal["account__name"])}</div>'
                if deal["account__name"]
                else ""
            )
            + '<div class="d-flex flex-wrap gap-1 align-items-center small mt-1">'
            + (f'<span class="fw-medium">{escape(amount)}</span>' if amount else "")
            + (f'<span class="text-secondary">· {close}</span>' if close else "")
            + (f'<span class="badge bg-orange-lt ms-auto">{escape(stale_label)}</span>' if stale else "")
            + "</div>"
            + (f'<div class="small text-secondary text-truncate">{escape(owner)}</div>' if owner else "")
            + "</div></div>"
        )
    return mark_safe("\n".join(parts))


def _board_filters(request: AuthedRequest) -> dict[str, Any]:
    return {
        "mine": request.GET.get("mine") == "1",
        "stale": request.GET.get("stale") == "1",
        "q": request.GET.get("q", "").strip()[:100],
    }


@staff_perm("sales.view_deal")
def pipeline_board(request: AuthedRequest, pk: int) -> HttpResponse:
    config = selectors.board_config(pipeline_id=pk)  # pipelines, stages, lost reasons: cached, not queried
    pipeline = config.pipeline(pk)
    if pipeline is None:
        raise Http404
    filters = _board_filters(request)
    columns = selectors.board(user=request.user, pipeline=pipeline, **filters)
    cutoff = selectors.stale_cutoff()
    for column in columns:
        column.cards = _cards(column.deals, cutoff, _("Stale"))
        column.requires = ", ".join(
            str(services.DEAL_REQUIRABLE[name])
            for name in column.stage.required_fields
            if name in services.DEAL_REQUIRABLE
        )
    context = {
        "pipeline": pipeline,
        "pipelines": config.pipelines,
        "columns": columns,
        "filters": filters,
        "query": request.GET.urlencode(),
        "lost_reasons": config.lost_reasons,
        "can_move": request.user.has_perm("sales.change_deal"),
        "empty": not any(c.count for c in columns),
    }
    return render(request, "sales/board.html", context)


@staff_perm("sales.view_deal")
def board_column(request: AuthedRequest, pk: int, stage_id: int) -> HttpResponse:
    """The next page of one column ("load more")."""
    pipeline = get_object_or_404(Pipeline.objects.filter(active=True), pk=pk)
    stage = get_object_or_404(Stage, pk=stage_id, pipeline=pipeline)
    rows = selectors.board_rows(user=request.user, pipeline=pipeline, **_board_filters(request))
    deals, more = selectors.column_page(rows, stage, after=request.GET.get("after", ""))
    params = request.GET.copy()
    params.pop("after", None)  # the next button adds its own cursor
    context = {
        "pipeline": pipeline,
        "stage": stage,
        "deals": deals,
        "cards": _cards(deals, selectors.stale_cutoff(), _("Stale")),
        "more": more,
        "query": params.urlencode(),
    }
    return render(request, "sales/_column_more.html", context)


def _neighbour(request: AuthedRequest, name: str, data: Any) -> Deal | None:
    value = str(data.get(name) or "")
    if not value.isdigit():
        return None
    return selectors.deals_visible_to(request.user).filter(pk=int(value)).only("id", "stage_id", "position").first()


def _errors_text(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


@require_POST
@staff_perm("sales.change_deal")
def deal_move(request: AuthedRequest, pk: int) -> HttpResponse:
    """Move a deal to a stage (and a place in its column): JSON for the board, a redirect for the detail page."""
    deal = get_object_or_404(selectors.deals_visible_to(request.user, "change").select_related("stage"), pk=pk)
    wants_json = "application/json" in request.headers.get("Accept", "")
    form = DealMoveForm(request.POST, pipeline_id=deal.pipeline_id)
    if not form.is_valid():
        message = " ".join(str(e) for errors in form.errors.values() for e in errors)
        if wants_json:
            return JsonResponse({"ok": False, "error": message, "fields": form.errors}, status=422)
        messages.error(request, message)
        return redirect(deal)
    old_stage = deal.stage
    try:
        services.deal_move(
            deal=deal,
            stage=form.cleaned_data["stage"],
            actor=request.user,
            above=_neighbour(request, "above", request.POST),
            below=_neighbour(request, "below", request.POST),
            lost_reason=form.cleaned_data["lost_reason"],
            lost_note=form.cleaned_data["lost_note"] or None,
        )
    except ValidationError as exc:
        if wants_json:
            fields = exc.message_dict if hasattr(exc, "error_dict") else {}
            return JsonResponse({"ok": False, "error": _errors_text(exc), "fields": fields}, status=422)
        messages.error(request, _errors_text(exc))
        return redirect(deal)
    if wants_json:
        # the board moves the card and adjusts both columns' count and total itself: no column re-count here
        return JsonResponse({"ok": True, "deal": deal.pk, "from_stage": old_stage.pk, "stage": deal.stage_id})
    messages.success(request, _("“%(deal)s” moved to “%(stage)s”.") % {"deal": deal, "stage": deal.stage})
    return redirect(deal)


# --- deals --------------------------------------------------------------------------------------


@staff_perm("sales.view_deal")
def deal_list(request: AuthedRequest) -> HttpResponse:
    return list_page(request, lists.DEALS, "sales/deal_list.html")


@staff_perm("sales.view_deal")
def deal_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    deal = selectors.deal_detail(user=request.user, pk=pk)
    if deal is None:
        raise Http404
    tasks = [link.interaction for link in DealTask.objects.filter(deal=deal).select_related("interaction__assignee")]
    can_change = selectors.deals_visible_to(request.user, "change").filter(pk=deal.pk).exists()
    context = {
        **_lines_context(request, deal, can_change=can_change),
        "deal": deal,
        "custom": custom_display("deal", deal.custom),
        "tags": list(deal.tags.all()),
        "contacts": list(deal.contacts.all()),
        "stages": selectors.stages_of(deal.pipeline),
        "history": page_of(request, object_history(deal)),
        "move_form": DealMoveForm(initial={"stage": deal.stage_id}, pipeline_id=deal.pipeline_id),
        "task_form": DealTaskForm(initial={"assignee": deal.owner_id}),
        "tasks": tasks,
        "stale": deal.status == "open" and deal.last_activity_at < selectors.stale_cutoff(),
        "can_change": can_change,
        "now": timezone.now(),
    }
    return render(request, "sales/deal_detail.html", context)


def _deal_form(request: AuthedRequest, deal: Deal | None = None) -> DealForm:
    initial: dict[str, Any] = {}
    if deal is not None:
        initial = {name: getattr(deal, name) for name in ("name", "amount", "expected_close", "source")}
        initial |= {"account": deal.account_id, "currency": deal.currency_id, "contacts": list(deal.contacts.all())}
        initial["tags"] = ", ".join(t.name for t in deal.tags.all())
    else:
        initial["currency"] = Currency.objects.filter(code="CNY").values_list("pk", flat=True).first()
        if request.GET.get("account", "").isdigit():
            initial["account"] = int(request.GET["account"])
    return DealForm(
        request.POST or None,
        initial=initial,
        accounts=customer_selectors.accounts_visible_to(request.user).filter(archived_at=None),
        contacts=customer_selectors.contacts_visible_to(request.user).filter(archived_at=None),
        editing=deal is not None,
        custom=deal.custom if deal is not None else None,
        amount_from_lines=deal is not None and deal.products.exists(),
    )


def _deal_fields(form: DealForm) -> tuple[dict[str, Any], list[Any]]:
    """The form's built-in values for the service, with `custom` and `tags` among them, and the contacts."""
    data, custom = custom_from_cleaned(dict(form.cleaned_data))
    contacts = list(data.pop("contacts") or [])
    if "pipeline" in data and data["pipeline"] is None:
        data.pop("pipeline")
    for name, field in form.fields.items():
        if field.disabled:
            data.pop(name, None)  # shown, not edited (the amount and currency of a deal with lines)
    data["custom"], data["tags"] = custom, data.pop("tags", "")
    return data, contacts


@staff_perm("sales.add_deal")
def deal_create(request: AuthedRequest) -> HttpResponse:
    form = _deal_form(request)
    if request.method == "POST" and form.is_valid():
        data, contacts = _deal_fields(form)
        try:
            deal = services.deal_create(actor=request.user, contacts=contacts, **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Deal “%(deal)s” created.") % {"deal": deal})
            return redirect(deal)
    return render(request, "core/form.html", {"form": form, "title": _("New deal"), "back": "deal-list"})


@staff_perm("sales.change_deal")
def deal_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(selectors.deals_visible_to(request.user, "change"), pk=pk)
    form = _deal_form(request, deal)
    if request.method == "POST" and form.is_valid():
        data, contacts = _deal_fields(form)
        try:
            services.deal_update(deal=deal, actor=request.user, contacts=contacts, **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(deal)
    return render(request, "core/form.html", {"form": form, "title": deal, "back": "deal-list"})


@require_POST
@staff_perm("sales.change_deal")
def deal_task_add(request: AuthedRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(selectors.deals_visible_to(request.user, "change"), pk=pk)
    form = DealTaskForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(deal)
    if not request.user.has_perm("customers.add_interaction"):
        raise PermissionDenied
    try:
        services.deal_task_add(deal=deal, actor=request.user, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, _errors_text(exc))
    else:
        messages.success(request, _("Task added."))
    return redirect(deal)


# --- deal product lines (htmx: each write answers with the lines card and the new amount) ---------------


def _lines_context(request: AuthedRequest, deal: Deal, *, can_change: bool, **extra: Any) -> dict[str, Any]:
    lines = list(selectors.deal_lines(deal=deal))
    can_change_lines = can_change and request.user.has_perm("sales.change_dealproduct")
    forms = extra.pop("line_edit_forms", {})
    rows = [
        (line, forms.get(line.pk) or DealLineForm(line=line, prefix=f"l{line.pk}") if can_change_lines else None)
        for line in lines
    ]
    context: dict[str, Any] = {
        "deal": deal,
        "line_rows": rows,
        "line_totals": selectors.deal_line_totals(lines),
        "can_change_lines": can_change_lines,
        "line_form": DealLineForm(),
    }
    return context | extra


def _lines_answer(request: AuthedRequest, deal: Deal, **extra: Any) -> HttpResponse:
    """The lines card (and, out of band, the deal's amount) for htmx; the deal page for a plain form post."""
    if request.headers.get("HX-Request"):
        deal = selectors.deal_detail(user=request.user, pk=deal.pk) or deal
        return render(
            request, "sales/_deal_lines.html", _lines_context(request, deal, can_change=True, oob=True, **extra)
        )
    return redirect(deal)


def _line_done(request: AuthedRequest, message: str) -> None:
    """Say it on the next page for a plain form post; htmx shows the changed card itself instead."""
    if not request.headers.get("HX-Request"):
        messages.success(request, message)


def _line_of(request: AuthedRequest, pk: int, line_id: int) -> tuple[Deal, DealProduct]:
    deal = get_object_or_404(selectors.deals_visible_to(request.user, "change"), pk=pk)
    return deal, get_object_or_404(DealProduct, pk=line_id, deal=deal)


@require_POST
@staff_perm("sales.change_deal")
def deal_line_add(request: AuthedRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("sales.add_dealproduct"):
        raise PermissionDenied
    deal = get_object_or_404(selectors.deals_visible_to(request.user, "change"), pk=pk)
    form = DealLineForm(request.POST)
    if form.is_valid():
        try:
            services.deal_line_add(deal=deal, actor=request.user, **form.values())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            _line_done(request, _("Product line added."))
            return _lines_answer(request, deal)
    if not request.headers.get("HX-Request"):
        messages.error(request, _form_errors(form))
    return _lines_answer(request, deal, line_form=form)


@require_POST
@staff_perm("sales.change_deal")
def deal_line_update(request: AuthedRequest, pk: int, line_id: int) -> HttpResponse:
    if not request.user.has_perm("sales.change_dealproduct"):
        raise PermissionDenied
    deal, line = _line_of(request, pk, line_id)
    form = DealLineForm(request.POST, prefix=f"l{line.pk}", line=line)
    if form.is_valid():
        try:
            services.deal_line_update(line=line, actor=request.user, **form.values())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            _line_done(request, _("Product line saved."))
            return _lines_answer(request, deal)
    if not request.headers.get("HX-Request"):
        messages.error(request, _form_errors(form))
    return _lines_answer(request, deal, line_edit_forms={line.pk: form})


@require_POST
@staff_perm("sales.change_deal")
def deal_line_remove(request: AuthedRequest, pk: int, line_id: int) -> HttpResponse:
    if not request.user.has_perm("sales.change_dealproduct"):
        raise PermissionDenied
    deal, line = _line_of(request, pk, line_id)
    services.deal_line_remove(line=line, actor=request.user)
    _line_done(request, _("Product line removed."))
    return _lines_answer(request, deal)


@require_POST
@staff_perm("customers.change_lead")
def lead_assign(request: AuthedRequest, pk: int) -> HttpResponse:
    """Give a lead to the owner the assignment rules pick (round robin or territory)."""
    if not request.user.has_perm("sales.view_assignmentrule"):
        raise PermissionDenied
    lead = get_object_or_404(customer_selectors.leads_visible_to(request.user, "change"), pk=pk)
    try:
        services.lead_assign(lead=lead, actor=request.user)
    except ValidationError as exc:
        messages.error(request, _errors_text(exc))
    else:
        messages.success(request, _("Lead assigned to %(owner)s.") % {"owner": lead.owner})
    return redirect(lead)


# --- reports ------------------------------------------------------------------------------------


def _date_param(request: AuthedRequest, name: str) -> date | None:
    return parse_date(request.GET.get(name, "") or "") if request.GET.get(name) else None


@staff_perm("sales.view_deal")
def sales_reports(request: AuthedRequest) -> HttpResponse:
    pipelines = list(selectors.pipelines_active())
    chosen = request.GET.get("pipeline", "")
    pipeline = next((p for p in pipelines if str(p.pk) == chosen), pipelines[0] if pipelines else None)
    since, until = _date_param(request, "since"), _date_param(request, "until")
    today = timezone.localdate()
    context: dict[str, Any] = {"pipelines": pipelines, "pipeline": pipeline, "since": since, "until": until}
    if pipeline is not None:
        funnel = selectors.funnel(user=request.user, pipeline=pipeline, since=since, until=until)
        months = selectors.month_starts(today, 6)
        forecast = selectors.forecast(user=request.user, pipeline=pipeline, start=today, months=6)
        by_month = {m: {"amount": 0.0, "weighted": 0.0, "deals": 0} for m in months}
        for row in forecast:
            if row.month in by_month:
                by_month[row.month]["amount"] += float(row.amount)
                by_month[row.month]["weighted"] += float(row.weighted)
                by_month[row.month]["deals"] += row.deals
        won_lost = selectors.won_lost(user=request.user, pipeline=pipeline, since=since, until=until)
        lost, reps, teams = won_lost.lost_by_reason, won_lost.by_owner, won_lost.by_team
        chart = {
            "funnel": [{"name": s.stage.name, "value": s.reached} for s in funnel if s.stage.kind != StageKind.LOST],
            "months": [m.strftime("%Y-%m") for m in months],
            "amount": [round(v["amount"], 2) for v in by_month.values()],
            "weighted": [round(v["weighted"], 2) for v in by_month.values()],
            "lost": [{"name": r["reason"] or "—", "value": r["deals"]} for r in lost],
            "labels": {"amount": _("Amount"), "weighted": _("Weighted"), "reached": _("Reached")},
        }
        context |= {
            "funnel": funnel,
            "forecast": forecast,
            "by_month": by_month,
            "lost": lost,
            "reps": reps,
            "teams": teams,
            "chart": json.dumps(chart, ensure_ascii=False),
        }
    return render(request, "sales/reports.html", context)


# --- settings -----------------------------------------------------------------------------------


def _form_errors(form: Any) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def _save(request: AuthedRequest, form: Any, save: Any, done: str) -> bool:
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return False
    try:
        save(form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, _errors_text(exc))
        return False
    messages.success(request, done)
    return True


@staff_perm("sales.change_pipeline")
def sales_settings(request: AuthedRequest) -> HttpResponse:
    """Pipelines, lost reasons, currencies, the stale threshold and assignment rules on one page."""
    current = services.sales_settings()
    context = {
        "pipelines": Pipeline.objects.prefetch_related("stages").order_by("position", "id"),
        "lost_reasons": LostReason.objects.order_by("position", "id"),
        "currencies": Currency.objects.order_by("code"),
        "rules": AssignmentRule.objects.select_related("team", "user").order_by("position", "id"),
        "pipeline_form": PipelineForm(),
        "lost_reason_form": LostReasonForm(),
        "currency_form": CurrencyForm(),
        "settings_form": SalesSettingsForm(initial={"stale_after_days": current.stale_after_days}),
        "rule_form": AssignmentRuleForm(),
    }
    return render(request, "sales/settings.html", context)


@require_POST
@staff_perm("sales.change_pipeline")
def pipeline_save(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    pipeline = get_object_or_404(Pipeline, pk=pk) if pk else None

    def save(data: dict[str, Any]) -> None:
        services.pipeline_save(actor=request.user, pipeline=pipeline, **data)

    _save(request, PipelineForm(request.POST), save, _("Pipeline saved."))
    return redirect("sales-settings")


@staff_perm("sales.change_pipeline")
def pipeline_stages(request: AuthedRequest, pk: int) -> HttpResponse:
    """One pipeline's stages: add, change, reorder, remove."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    stages = selectors.stages_of(pipeline)
    forms = [
        (s, StageForm(initial={**{f: getattr(s, f) for f in StageForm.base_fields}}, prefix=f"s{s.pk}")) for s in stages
    ]
    context = {
        "pipeline": pipeline,
        "pipeline_form": PipelineForm(initial={f: getattr(pipeline, f) for f in PipelineForm.base_fields}),
        "stage_forms": forms,
        "new_stage_form": StageForm(prefix="new"),
    }
    return render(request, "sales/pipeline_stages.html", context)


@require_POST
@staff_perm("sales.change_pipeline")
def stage_save(request: AuthedRequest, pk: int, stage_id: int | None = None) -> HttpResponse:
    pipeline = get_object_or_404(Pipeline, pk=pk)
    stage = get_object_or_404(Stage, pk=stage_id, pipeline=pipeline) if stage_id else None
    form = StageForm(request.POST, prefix=f"s{stage.pk}" if stage else "new")

    def save(data: dict[str, Any]) -> None:
        services.stage_save(actor=request.user, pipeline=pipeline, stage=stage, **data)

    _save(request, form, save, _("Stage saved."))
    return redirect("pipeline-stages", pipeline.pk)


@require_POST
@staff_perm("sales.change_pipeline")
def stage_shift(request: AuthedRequest, pk: int, stage_id: int) -> HttpResponse:
    """Move a stage one place up or down."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    ids = [s.pk for s in selectors.stages_of(pipeline)]
    if stage_id not in ids:
        raise Http404
    index = ids.index(stage_id)
    other = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
        services.stages_reorder(actor=request.user, pipeline=pipeline, stage_ids=ids)
    return redirect("pipeline-stages", pipeline.pk)


@require_POST
@staff_perm("sales.delete_stage")
def stage_delete(request: AuthedRequest, pk: int, stage_id: int) -> HttpResponse:
    stage = get_object_or_404(Stage, pk=stage_id, pipeline_id=pk)
    try:
        services.stage_delete(actor=request.user, stage=stage)
    except ValidationError as exc:
        messages.error(request, _errors_text(exc))
    else:
        messages.success(request, _("Stage removed."))
    return redirect("pipeline-stages", pk)


@require_POST
@staff_perm("sales.change_lostreason")
def lost_reason_save(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    reason = get_object_or_404(LostReason, pk=pk) if pk else None

    def save(data: dict[str, Any]) -> None:
        services.lost_reason_save(actor=request.user, reason=reason, **data)

    _save(request, LostReasonForm(request.POST), save, _("Lost reason saved."))
    return redirect("sales-settings")


@require_POST
@staff_perm("sales.change_currency")
def currency_save(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    currency = get_object_or_404(Currency, pk=pk) if pk else None

    def save(data: dict[str, Any]) -> None:
        services.currency_save(actor=request.user, currency=currency, **data)

    _save(request, CurrencyForm(request.POST), save, _("Currency saved."))
    return redirect("sales-settings")


@require_POST
@staff_perm("sales.change_salessettings")
def stale_days_save(request: AuthedRequest) -> HttpResponse:
    def save(data: dict[str, Any]) -> None:
        services.sales_settings_update(actor=request.user, **data)

    _save(request, SalesSettingsForm(request.POST), save, _("Settings saved."))
    return redirect("sales-settings")


@require_POST
@staff_perm("sales.change_assignmentrule")
def assignment_rule_save(request: AuthedRequest) -> HttpResponse:
    def save(data: dict[str, Any]) -> None:
        services.assignment_rule_save(actor=request.user, **data)

    _save(request, AssignmentRuleForm(request.POST), save, _("Assignment rule saved."))
    return redirect("sales-settings")


@require_POST
@staff_perm("sales.delete_assignmentrule")
def assignment_rule_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AssignmentRule, pk=pk)
    services.assignment_rule_delete(actor=request.user, rule=rule)
    messages.success(request, _("Assignment rule removed."))
    return redirect("sales-settings")
