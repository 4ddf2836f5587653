"""Service desk pages: the agent's queue with live SLA clocks, the ticket, the new-ticket form, measures, settings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from guanxi.core.forms import apply_service_errors
from guanxi.core.http import AuthedRequest
from guanxi.core.selectors import CappedRows
from guanxi.core.views import page_of, staff_perm

from . import selectors, services
from .businesstime import WorkCalendar
from .forms import (
    AssignForm,
    CalendarDayForm,
    CalendarForm,
    CalendarLoadForm,
    CannedForm,
    PolicyForm,
    QueueForm,
    ReplyForm,
    RuleForm,
    TicketForm,
    WebRequestForm,
)
from .models import (
    AssignmentRule,
    BusinessCalendar,
    CannedResponse,
    Channel,
    Queue,
    SlaPolicy,
    Status,
    Ticket,
    TicketAttachment,
    TicketMessage,
)

TAB_LABELS = {
    "mine": gettext_lazy("My tickets"),
    "queue": gettext_lazy("My queues"),
    "overdue": gettext_lazy("Overdue"),
    "breached": gettext_lazy("Breached"),
    "all": gettext_lazy("All"),
}


def _clock(ticket: Ticket, cache: dict[int, WorkCalendar], now: Any) -> dict[str, Any] | None:
    """The SLA clock of one ticket: business minutes left and the state that colours it."""
    if not ticket.is_open:
        return None
    remaining = services.sla_remaining(ticket, cache, now)
    if remaining is None:
        return None
    if ticket.status == Status.WAITING:
        state = "paused"
    elif remaining < 0 or ticket.breached_at:
        state = "breached"
    elif ticket.sla_policy and remaining <= ticket.sla_policy.warn_before_minutes:
        state = "warning"
    else:
        state = "ok"
    hours, minutes = divmod(abs(remaining), 60)
    return {"remaining": remaining, "state": state, "hours": hours, "minutes": minutes}


@staff_perm("service.view_ticket")
def ticket_queue(request: AuthedRequest) -> HttpResponse:
    tab = request.GET.get("tab", "mine")
    if tab not in selectors.TABS:
        tab = "mine"
    q = request.GET.get("q", "").strip()
    now = timezone.now()
    page = page_of(request, CappedRows(selectors.tickets_queue(user=request.user, tab=tab, q=q, now=now)))
    cache: dict[int, WorkCalendar] = {}
    rows = [(ticket, _clock(ticket, cache, now)) for ticket in page.object_list]
    context = {
        "page": page,
        "rows": rows,
        "tab": tab,
        "tabs": [(key, str(label)) for key, label in TAB_LABELS.items()],
        "q": q,
        "query": f"tab={tab}&q={q}",
    }
    template = "service/_queue_rows.html" if request.htmx else "service/ticket_queue.html"
    return render(request, template, context)


@staff_perm("service.add_ticket")
def ticket_create(request: AuthedRequest) -> HttpResponse:
    form = TicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            ticket = services.ticket_create(actor=request.user, **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Ticket %(number)s opened.") % {"number": ticket.number})
            return redirect(ticket)
    return render(
        request, "service/kb/ticket_form.html", {"form": form, "title": _("New ticket"), "back": "ticket-queue"}
    )


def _ticket(request: AuthedRequest, pk: int, action: str = "view") -> Ticket:
    return get_object_or_404(
        selectors.tickets_visible_to(request.user, action).select_related(
            "owner", "queue", "sla_policy__calendar", "contact", "account", "lead"
        ),
        pk=pk,
    )


@staff_perm("service.view_ticket")
def ticket_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    ticket = _ticket(request, pk)
    return _detail(request, ticket, ReplyForm(), AssignForm(initial={"assignee": ticket.owner, "queue": ticket.queue}))


def _detail(request: AuthedRequest, ticket: Ticket, reply_form: ReplyForm, assign_form: AssignForm) -> HttpResponse:
    now = timezone.now()
    canned = [
        {"id": c.pk, "title": c.title, "text": services.canned_render(canned=c, ticket=ticket, agent=request.user)}
        for c in selectors.canned_for(request.user, language=ticket.language)[:50]
    ]
    context = {
        "ticket": ticket,
        "conversation": selectors.ticket_conversation(ticket),
        "clock": _clock(ticket, {}, now),
        "reply_form": reply_form,
        "assign_form": assign_form,
        "canned": canned,
        "can_change": request.user.has_perm("service.change_ticket")
        and selectors.tickets_visible_to(request.user, "change").filter(pk=ticket.pk).exists(),
        "next_statuses": [Status(s) for s in sorted(services._TRANSITIONS[ticket.status])],
    }
    return render(request, "service/ticket_detail.html", context)


@require_POST
@staff_perm("service.change_ticket")
def ticket_reply(request: AuthedRequest, pk: int) -> HttpResponse:
    ticket = _ticket(request, pk, "change")
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data.get("attachment")
        uploads = (
            [services.Upload(filename=upload.name, content=upload.read(), content_type=upload.content_type or "")]
            if upload
            else []
        )
        try:
            services.ticket_reply(
                ticket=ticket,
                actor=request.user,
                body=form.cleaned_data["body"],
                kind=form.cleaned_data["kind"],
                wait_on_customer=form.cleaned_data["wait_on_customer"],
                time_spent_seconds=(form.cleaned_data.get("time_spent_minutes") or 0) * 60,
                attachments=uploads,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            sent = form.cleaned_data["kind"] == TicketMessage.Kind.REPLY
            messages.success(request, _("Reply sent.") if sent else _("Note added."))
            return redirect(ticket)
    return _detail(request, ticket, form, AssignForm(initial={"assignee": ticket.owner, "queue": ticket.queue}))


@require_POST
@staff_perm("service.change_ticket")
def ticket_status(request: AuthedRequest, pk: int) -> HttpResponse:
    ticket = _ticket(request, pk, "change")
    try:
        services.ticket_set_status(ticket=ticket, status=request.POST.get("status", ""), actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Status: %(status)s.") % {"status": ticket.get_status_display()})
    return redirect(ticket)


@require_POST
@staff_perm("service.change_ticket")
def ticket_assign(request: AuthedRequest, pk: int) -> HttpResponse:
    ticket = _ticket(request, pk, "change")
    form = AssignForm(request.POST)
    if form.is_valid():
        try:
            queue = form.cleaned_data["queue"]
            if queue is not None and queue.pk != ticket.queue_id:
                services.ticket_move(ticket=ticket, queue=queue, actor=request.user)
            elif form.cleaned_data["assignee"] != ticket.owner:
                services.ticket_assign(ticket=ticket, assignee=form.cleaned_data["assignee"], actor=request.user)
            priority = request.POST.get("priority")
            if priority:
                services.ticket_set_priority(ticket=ticket, priority=priority, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Ticket updated."))
            return redirect(ticket)
    return _detail(request, ticket, ReplyForm(), form)


@staff_perm("service.view_ticket")
def ticket_attachment(request: AuthedRequest, pk: int) -> FileResponse:
    attachment = get_object_or_404(
        TicketAttachment.objects.filter(message__ticket__in=selectors.tickets_visible_to(request.user)), pk=pk
    )
    if attachment.message.kind == TicketMessage.Kind.NOTE and not request.user.has_perm("service.view_ticketmessage"):
        raise Http404
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.filename)


@staff_perm("service.view_ticket")
def service_measures(request: AuthedRequest) -> HttpResponse:
    """Open, overdue and breached tickets per agent and per queue."""
    context = {
        "agents": selectors.ticket_counts(user=request.user, by="owner"),
        "queues": selectors.ticket_counts(user=request.user, by="queue"),
    }
    return render(request, "service/measures.html", context)


# --- settings ---------------------------------------------------------------------------------


@staff_perm("service.change_queue")
def service_settings(request: AuthedRequest) -> HttpResponse:
    context = {
        "queues": Queue.objects.select_related("team").prefetch_related("agents"),
        "rules": AssignmentRule.objects.select_related("queue"),
        "policies": SlaPolicy.objects.select_related("calendar", "escalate_queue", "escalate_user"),
        "calendars": BusinessCalendar.objects.all(),
        "canned": CannedResponse.objects.all(),
    }
    return render(request, "service/settings.html", context)


SETTING_KINDS: dict[str, tuple[type[forms.ModelForm], Any, Any]] = {
    "queue": (QueueForm, Queue, services.queue_save),
    "rule": (RuleForm, AssignmentRule, services.assignment_rule_save),
    "policy": (PolicyForm, SlaPolicy, services.sla_policy_save),
    "canned": (CannedForm, CannedResponse, services.canned_response_save),
}
SETTING_TITLES = {
    "queue": gettext_lazy("Queue"),
    "rule": gettext_lazy("Assignment rule"),
    "policy": gettext_lazy("SLA policy"),
    "canned": gettext_lazy("Canned response"),
}
SETTING_OBJECT_ARG = {"queue": "queue", "rule": "rule", "policy": "policy", "canned": "canned"}


@staff_perm("service.change_queue")
def service_setting_edit(request: AuthedRequest, kind: str, pk: int | None = None) -> HttpResponse:
    """Create (pk None) or edit a queue, assignment rule, SLA policy or canned response."""
    if kind not in SETTING_KINDS:
        raise Http404
    form_class, model, save = SETTING_KINDS[kind]
    if not request.user.has_perm(f"service.change_{model._meta.model_name}"):
        raise PermissionDenied
    instance = get_object_or_404(model, pk=pk) if pk is not None else None
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form._meta.fields or []}
        extra = {}
        if kind == "queue":
            extra["agents"] = list(data.pop("agents"))
        try:
            save(actor=request.user, **{SETTING_OBJECT_ARG[kind]: instance}, **extra, **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)  # type: ignore[arg-type]
        else:
            messages.success(request, _("Saved."))
            return redirect("service-settings")
    title = SETTING_TITLES[kind]
    return render(request, "core/form.html", {"form": form, "title": title, "back": "service-settings"})


@staff_perm("service.change_businesscalendar")
def calendar_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    calendar = get_object_or_404(BusinessCalendar, pk=pk) if pk is not None else None
    form = CalendarForm(request.POST or None, calendar=calendar)
    if request.method == "POST" and form.is_valid():
        try:
            calendar = services.calendar_save(
                actor=request.user,
                calendar=calendar,
                name=form.cleaned_data["name"],
                time_zone=form.cleaned_data["time_zone"],
                hours=form.hours(),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("calendar-detail", pk=calendar.pk)
    return render(
        request, "core/form.html", {"form": form, "title": _("Business calendar"), "back": "service-settings"}
    )


@staff_perm("service.change_businesscalendar")
def calendar_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    day_form = CalendarDayForm(request.POST or None)
    if request.method == "POST" and day_form.is_valid():
        try:
            data = day_form.cleaned_data
            services.calendar_day_set(
                actor=request.user, calendar=calendar, day=data["date"], kind=data["kind"], name=data["name"]
            )
        except ValidationError as exc:
            apply_service_errors(day_form, exc)
        else:
            return redirect("calendar-detail", pk=calendar.pk)
    year = int(request.GET.get("year") or timezone.localdate().year)
    context = {
        "calendar": calendar,
        "days": calendar.days.filter(date__year=year),
        "year": year,
        "day_form": day_form,
        "load_form": CalendarLoadForm(initial={"year": year}),
    }
    return render(request, "service/calendar_detail.html", context)


@require_POST
@staff_perm("service.change_businesscalendar")
def calendar_load_china(request: AuthedRequest, pk: int) -> HttpResponse:
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    form = CalendarLoadForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for errors in form.errors.values() for m in errors))
        return redirect("calendar-detail", pk=calendar.pk)
    year = form.cleaned_data["year"]
    try:
        counts = services.calendar_load_china(actor=request.user, calendar=calendar, year=year)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        text = _("Loaded %(holidays)s holidays and %(workdays)s adjusted workdays of %(year)s.")
        messages.success(request, text % {**counts, "year": year})
    return redirect(f"{reverse('calendar-detail', args=[calendar.pk])}?year={year}")


# --- the public web form --------------------------------------------------------------------


def web_request(request: HttpRequest) -> HttpResponse:
    """Anyone (no sign-in) asks for help; the ticket is filed as from the web form and its number shown."""
    form = WebRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_create(
                actor=None,
                subject=data["subject"],
                body=data["body"],
                channel=Channel.WEB_FORM,
                email=data["email"],
                phone=data["phone"],
                name=data["name"],
                language=translation.get_language() or "",
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return render(request, "service/web_request.html", {"ticket": ticket})
    return render(request, "service/web_request.html", {"form": form})
