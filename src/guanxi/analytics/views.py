"""Analytics pages: the dashboard, drill-downs, widget exports, customer profile, value lists, spend, runs."""

from __future__ import annotations

import csv
import json
from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.http import AuthedRequest
from guanxi.core.jobs import job_start
from guanxi.core.views import page_of, staff_perm
from guanxi.customers.models import Lead

from . import selectors, services
from .kpis import kpis, month_start
from .models import AcquisitionSpend, DashboardSubscription, Segment

ROLES = ("executive", "sales", "service", "marketing", "mine")


def _month(request: AuthedRequest) -> date:
    raw = request.GET.get("month", "")
    try:
        return date.fromisoformat(f"{raw[:7]}-01") if raw else month_start(timezone.localdate())
    except ValueError:
        return month_start(timezone.localdate())


def _role(request: AuthedRequest) -> str:
    """The dashboard asked for, else the user's default: their role's (sales, marketing, service), else the
    executive one."""
    role = request.GET.get("role", "")
    if role in ROLES:
        return role
    if request.user.sees_everything:
        return "executive"
    for role in ("sales", "marketing", "service"):
        if role in request.user.role_names:
            return role
    return "executive"


def _slice(request: AuthedRequest, role: str) -> selectors.Slice | None:
    """The dashboard's dimension filter from ?dimension=&value= or ?filter=dimension:value (ValidationError
    when not offered)."""
    dimension, value = request.GET.get("dimension", ""), request.GET.get("value", "")
    if "filter" in request.GET:  # the page's filter menu sends both as one "dimension:value"
        dimension, _sep, value = request.GET["filter"].partition(":")
    return selectors.dashboard_slice(user=request.user, role=role, dimension=dimension, value=value)


def _kpi_slice(request: AuthedRequest, code: str, scope: str) -> selectors.Slice | None:
    """A drill-down's or KPI export's filter: a dimension the KPI is kept by and a value the user may see."""
    dimension, value = request.GET.get("dimension", ""), request.GET.get("value", "")
    if scope == "mine" and (dimension or value):
        raise ValidationError({"dimension": _("“My own” shows your own records; it cannot be filtered further.")})
    if dimension and dimension in selectors.DIMENSION_LABELS and dimension not in kpis()[code].dimensions:
        raise ValidationError({"dimension": selectors.not_available(dimension)})
    return selectors.slice_for(user=request.user, codes=[code], dimension=dimension, value=value)


def _bad_filter(exc: ValidationError) -> HttpResponse:
    return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain; charset=utf-8")


def _filter_query(where: selectors.Slice | None) -> str:
    """The filter as query-string pairs to carry on links (drill-down, exports, PDF)."""
    return f"&dimension={where.dimension}&value={where.value}" if where else ""


def _query_without_page(request: AuthedRequest) -> str:
    """The query string minus the page number, for the pager's links (month, scope and filter stay)."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _role_choices() -> list[tuple[str, str]]:
    return [
        ("executive", _("Executive")),
        ("sales", _("Sales team")),
        ("service", _("Service")),
        ("marketing", _("Marketing")),
        ("mine", _("My own")),
    ]


@staff_perm("analytics.view_kpivalue")
def dashboard(request: AuthedRequest) -> HttpResponse:
    user, month, role = request.user, _month(request), _role(request)
    error = ""
    try:
        where = _slice(request, role)
    except ValidationError as exc:
        where, error = None, " ".join(exc.messages)
    board = selectors.dashboard(user=user, role=role, month=month, where=where)
    dimensions = selectors.dashboard_dimensions(user, role)
    chart = {
        "months": [m.strftime("%Y-%m") for m in board.months],
        "trend": [
            {"name": str(kpis()[c].label), "values": [round(f.value or 0, 2) for f in series]}
            for c, series in board.trend.items()
            if series and not series[0].unavailable
        ],
        "segments": [{"name": s["label"], "value": s["customers"]} for s in board.segments],
        "funnel": board.funnel,
        "heat": {
            "days": [str(d) for d in selectors.WEEKDAYS],
            "hours": [f"{h:02d}" for h in range(24)],
            "cells": [[h, d, n] for d, row in enumerate(board.heat.cells) for h, n in enumerate(row)],
            "peak": board.heat.peak,
        },
    }
    context = {
        "role": role,
        "roles": _role_choices(),
        "month": month,
        "numbers": board.numbers,
        "period": board.period,
        "risky": board.risky,
        "segments": board.segments,
        "heat": board.heat,
        "chart": json.dumps(chart, ensure_ascii=False),
        "has_data": any(f.numerator or f.denominator for f in board.numbers) or bool(board.period),
        "can_refresh": user.has_perm("analytics.add_modelrun"),
        "subscribed": DashboardSubscription.objects.filter(user=user, role=role).exists(),
        "where": where,
        "filter_query": _filter_query(where),
        "filter_error": error,
        "filter_groups": [
            (selectors.DIMENSION_LABELS[d], [(f"{d}:{v}", label) for v, label in selectors.dimension_values(user, d)])
            for d in dimensions
        ],
        "trend_note": board.note("trend"),
        "scores_note": board.scores_note,
        "heat_note": board.note("heatmap"),
    }
    return render(request, "analytics/dashboard.html", context, status=400 if error else 200)


@staff_perm("analytics.view_kpivalue")
def widget_export(request: AuthedRequest, widget: str) -> HttpResponse:
    """One dashboard widget's numbers as CSV: the table behind the chart, the same the page and the API show."""
    if widget not in selectors.WIDGETS:
        raise Http404
    month, role = _month(request), _role(request)
    try:
        where = _slice(request, role)
    except ValidationError as exc:
        return _bad_filter(exc)
    board = selectors.dashboard(user=request.user, role=role, month=month, where=where)
    header, rows = selectors.widget_table(board, widget)
    response, writer = _csv_response(f"{role}-{widget}-{month:%Y-%m}.csv")
    writer.writerow(header)
    writer.writerows(rows)
    if board.note(widget):
        writer.writerow([board.note(widget)])
    return response


@staff_perm("analytics.view_kpivalue")
def dashboard_pdf(request: AuthedRequest) -> HttpResponse:
    """The dashboard as a PDF: every widget's numbers as a table, with the trend and segments drawn."""
    from .dashboard_pdf import dashboard_pdf as render_pdf

    month, role = _month(request), _role(request)
    try:
        where = _slice(request, role)
    except ValidationError as exc:
        return _bad_filter(exc)
    board = selectors.dashboard(user=request.user, role=role, month=month, where=where)
    title = dict(_role_choices())[role]
    content = render_pdf(board, title=title, language=request.LANGUAGE_CODE)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="dashboard-{role}-{month:%Y-%m}.pdf"'
    return response


def _kpi_or_404(request: AuthedRequest, code: str) -> Any:
    if code not in kpis() or code not in selectors.kpi_codes_for(request.user):
        raise Http404
    return kpis()[code]


@staff_perm("analytics.view_kpivalue")
def kpi_drill(request: AuthedRequest, code: str) -> HttpResponse:
    """The records behind one number (scoped: a rep sees only the orders they may see)."""
    item = _kpi_or_404(request, code)
    month, scope = _month(request), request.GET.get("scope", "")
    try:
        where = _kpi_slice(request, code, scope)
    except ValidationError as exc:
        return _bad_filter(exc)
    rows = selectors.drill_records(user=request.user, code=code, month=month, scope=scope, where=where)
    if request.GET.get("format") == "csv":
        return _drill_csv(item, rows, month)
    figure = selectors.kpi_series(user=request.user, code=code, months=[month], scope=scope, where=where)[0]
    context = {
        "kpi": item,
        "figure": figure,
        "month": month,
        "scope": scope,
        "where": where,
        "filter_query": _filter_query(where),
        "page": page_of(request, rows),
        "query": _query_without_page(request),
    }
    return render(request, "analytics/drill.html", context)


def _csv_response(name: str) -> tuple[HttpResponse, Any]:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response.write("\ufeff")  # Excel opens UTF-8 Chinese text correctly with a byte-order mark
    return response, csv.writer(response)


def _drill_csv(item: Any, rows: Any, month: date) -> HttpResponse:
    response, writer = _csv_response(f"{item.code}-{month:%Y-%m}-records.csv")
    if item.drill == "orders":
        writer.writerow([_("Number"), _("Customer"), _("Ordered"), _("Status"), _("Total (CNY)"), _("Owner")])
        for o in rows.iterator(chunk_size=2000):
            writer.writerow(
                [
                    o.number,
                    o.account or o.contact,
                    o.ordered_at.isoformat(),
                    o.get_status_display(),
                    f"{o.gross_total * o.rate_to_cny:.2f}",
                    o.owner or "",
                ]
            )
    elif item.drill == "deals":
        writer.writerow([_("Deal"), _("Account"), _("Status"), _("Closed"), _("Amount (CNY)"), _("Owner")])
        for d in rows.iterator(chunk_size=2000):
            writer.writerow(
                [
                    d.name,
                    d.account or "",
                    d.get_status_display(),
                    d.closed_at.isoformat(),
                    d.amount_cny or "",
                    d.owner or "",
                ]
            )
    elif item.drill == "tickets":
        writer.writerow(
            [_("Ticket"), _("Subject"), _("Queue"), _("Channel"), _("Priority"), _("Status"), _("Opened"), _("Agent")]
        )
        for t in rows.iterator(chunk_size=2000):
            writer.writerow(
                [
                    t.number,
                    t.subject,
                    t.queue or "",
                    t.get_channel_display(),
                    t.get_priority_display(),
                    t.get_status_display(),
                    t.opened_at.isoformat(),
                    t.owner or "",
                ]
            )
    elif item.drill == "interactions":
        writer.writerow([_("When"), _("Kind"), _("Subject"), _("Customer"), _("Owner")])
        for i in rows.iterator(chunk_size=2000):
            writer.writerow(
                [
                    i.occurred_at.isoformat(),
                    i.get_kind_display(),
                    i.subject,
                    i.contact or i.account or i.lead or "",
                    i.owner or "",
                ]
            )
    else:
        writer.writerow([_("Customer"), _("Segment"), _("Orders"), _("Revenue"), _("Predicted value (12 months)")])
        for s in rows.iterator(chunk_size=2000):
            writer.writerow([s.customer, s.get_segment_display(), s.orders, s.revenue, s.clv])
    return response


@staff_perm("analytics.view_kpivalue")
def kpi_export(request: AuthedRequest, code: str) -> HttpResponse:
    """A widget's numbers as CSV: the same figures the dashboard and the API show."""
    item = _kpi_or_404(request, code)
    month, scope = _month(request), request.GET.get("scope", "")
    try:
        where = _kpi_slice(request, code, scope)
    except ValidationError as exc:
        return _bad_filter(exc)
    months = selectors.months_ending(month, 12)
    series = selectors.kpi_series(user=request.user, code=code, months=months, scope=scope, where=where)
    response, writer = _csv_response(f"{code}-{month:%Y-%m}.csv")
    writer.writerow([_("Month"), str(item.label), _("Numerator"), _("Denominator"), _("Unit")])
    for f in series:
        writer.writerow(
            [
                f.month.strftime("%Y-%m"),
                "" if f.value is None else round(f.value, 4),
                round(f.numerator, 4),
                round(f.denominator, 4),
                item.unit,
            ]
        )
    return response


@staff_perm("analytics.add_modelrun")
@require_POST
def refresh(request: AuthedRequest) -> HttpResponse:
    """Queue the scoring and the KPI rebuild now (they also run every night)."""
    try:
        job = job_start(kind="analytics.scores_refresh", actor=request.user)
        job_start(kind="analytics.kpis_refresh", actor=request.user)
    except PermissionDenied:
        raise
    messages.success(request, _("Customer scores and KPIs are being recomputed."))
    return redirect(job.get_absolute_url())


# --- customers -----------------------------------------------------------------------------------


@staff_perm("analytics.view_customerscore")
def customer_lists(request: AuthedRequest) -> HttpResponse:
    """High-value and at-risk customers, and the RFM segments with their movement since the previous run."""
    user = request.user
    periods = selectors.score_periods()
    period = periods[0] if periods else None
    chosen = request.GET.get("list", "high")
    segment = request.GET.get("segment", "")
    rows: Any = []
    if period:
        if chosen == "risk":
            rows = selectors.at_risk(user, period)
        elif chosen == "segment" and segment in Segment.values:
            rows = selectors.scores_visible_to(user).filter(period=period, segment=segment).order_by("-revenue", "id")
        else:
            chosen = "high"
            rows = selectors.high_value(user, period)
    migration = selectors.segment_migration(user, period, periods[1]) if len(periods) > 1 and period else {}
    labels = dict(Segment.choices)
    context = {
        "period": period,
        "list": chosen,
        "segment": segment,
        "page": page_of(request, rows),
        "segments": selectors.segment_counts(user, period) if period else [],
        "migration": [
            {"from": labels.get(origin, _("New")), "to": labels[to], "customers": n}
            for origin, targets in migration.items()
            for to, n in sorted(targets.items(), key=lambda kv: -kv[1])
            if origin != to
        ][:20],
        "previous": periods[1] if len(periods) > 1 else None,
        "run": selectors.latest_run(),
    }
    return render(request, "analytics/customers.html", context)


@staff_perm("customers.add_interaction")
@require_POST
def followup_task(request: AuthedRequest, pk: int) -> HttpResponse:
    """Create a follow-up task on a listed customer (from the high-value or at-risk list)."""
    score = get_object_or_404(selectors.scores_visible_to(request.user), pk=pk)
    subject = request.POST.get("subject", "").strip() or _("Follow up: %(customer)s") % {"customer": score.customer}
    try:
        services.followup_task_create(score=score, actor=request.user, subject=subject)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Task created; it is on your task list."))
    return redirect(request.POST.get("next") or "analytics-customers")


@staff_perm("analytics.view_customerscore")
def profile(request: AuthedRequest, kind: str, pk: int) -> HttpResponse:
    """客户画像: value, RFM segment, predicted value, churn risk and its reasons, stage, suggested products."""
    if kind not in ("account", "contact"):
        raise Http404
    customer = selectors.customer_visible(user=request.user, kind=kind, pk=pk)
    if customer is None:
        raise Http404
    score = selectors.score_for(user=request.user, kind=kind, pk=pk)
    context: dict[str, Any] = {"customer": customer, "kind": kind, "score": score}
    if score is not None:
        context |= {
            "aov": score.revenue / score.orders if score.orders else None,
            "reasons": selectors.churn_reasons(score),
            "suggested": selectors.products_by_id(score.recommended[:5]),
            "risk_percent": round(score.churn_risk * 100) if score.churn_risk is not None else None,
        }
    return render(request, "analytics/profile.html", context)


@staff_perm("analytics.view_customerscore")
def journey(request: AuthedRequest) -> HttpResponse:
    """The customer journey: customers per lifecycle stage, moves between stages, touchpoints before conversion."""
    try:
        months = max(1, min(24, int(request.GET.get("months", 12))))
    except ValueError:
        months = 12
    since = selectors.months_ending(month_start(timezone.localdate()), months)[0]
    data = selectors.journey(user=request.user, since=since)
    chart = {"stages": [{"name": s["label"], "value": s["customers"]} for s in data.stages]}
    context = {
        "journey": data,
        "months": months,
        "kinds": [t for t in data.touchpoints if t["dimension"] == "kind"],
        "channels": [t for t in data.touchpoints if t["dimension"] == "channel"],
        "chart": json.dumps(chart, ensure_ascii=False),
        "touch_days": selectors.TOUCH_DAYS,
    }
    return render(request, "analytics/journey.html", context)


# --- acquisition spend ---------------------------------------------------------------------------


@staff_perm("analytics.view_acquisitionspend")
def spend(request: AuthedRequest) -> HttpResponse:
    """Acquisition spend per channel and month (CAC's numerator); marketing enters it here."""
    errors: dict[str, list[str]] = {}
    values = {"channel": "", "month": timezone.localdate().strftime("%Y-%m"), "amount": "", "note": ""}
    if request.method == "POST":
        if not request.user.has_perm("analytics.add_acquisitionspend"):
            raise PermissionDenied
        values = {k: request.POST.get(k, "").strip() for k in values}
        try:
            services.acquisition_spend_set(actor=request.user, **values)
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, _("Spend saved; CAC for that month is updated."))
            return redirect("analytics-spend")
    context = {
        "page": page_of(request, AcquisitionSpend.objects.select_related("updated_by")),
        "channels": Lead.Source.choices,
        "values": values,
        "errors": errors,
        "can_edit": request.user.has_perm("analytics.add_acquisitionspend"),
    }
    return render(request, "analytics/spend.html", context, status=400 if errors else 200)


@staff_perm("analytics.view_kpivalue")
@require_POST
def subscribe(request: AuthedRequest) -> HttpResponse:
    """Start or stop the weekly email of the dashboard shown."""
    role = request.POST.get("role", "")
    try:
        sub = services.dashboard_subscription_toggle(user=request.user, role=role)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("analytics-dashboard")
    if sub is None:
        messages.success(request, _("You will no longer get this dashboard by email."))
    else:
        messages.success(request, _("You will get this dashboard by email every Monday morning."))
    return redirect(f"{reverse('analytics-dashboard')}?role={role}")
