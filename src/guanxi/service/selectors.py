"""Reads of the service desk, always scoped to the user."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from .models import OPEN_STATUSES, CannedResponse, Queue, SlaPolicy, Status, Ticket

TABS = ("mine", "queue", "overdue", "breached", "all")
RUNNING = [Status.NEW, Status.OPEN, Status.REOPENED]


def tickets_visible_to(user: Any, action: str = "view") -> QuerySet[Ticket]:
    """Tickets the user may `action`: assigned to them, their (queue's) team's, shared, or all for administrators."""
    return Ticket.objects.visible_to(user, action)


def tickets_queue(*, user: Any, tab: str = "mine", q: str = "", now: datetime | None = None) -> QuerySet[Ticket]:
    """One tab of the agent's queue view, soonest deadline first (tickets without one last)."""
    now = now or timezone.now()
    rows = tickets_visible_to(user)
    if tab == "mine":
        rows = rows.filter(owner=user, status__in=OPEN_STATUSES)
    elif tab == "queue":
        rows = rows.filter(status__in=OPEN_STATUSES, queue__in=Queue.objects.filter(agents=user))
    elif tab == "overdue":
        rows = rows.filter(status__in=RUNNING, sla_due__lt=now)
    elif tab == "breached":
        rows = rows.filter(breached_at__isnull=False)
    q = q.strip()
    number = q.upper().removeprefix("#").removeprefix("T-")
    if number.isdigit():  # a ticket number: one primary-key lookup, no text scan
        rows = rows.filter(pk=int(number))
    elif q:
        rows = rows.filter(Q(subject__icontains=q) | Q(requester_email__iexact=q))
    return rows.select_related("owner", "queue", "sla_policy").order_by(F("sla_due").asc(nulls_last=True), "id")


def ticket_conversation(ticket: Ticket) -> QuerySet[Any]:
    return ticket.messages.select_related("author").prefetch_related("attachments")


def ticket_counts(*, user: Any, by: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """Open, overdue and breached tickets per agent (`by="owner"`) or per queue, within the user's scope."""
    now = now or timezone.now()
    key = {"owner": "owner__full_name", "queue": "queue__name"}[by]
    rows = (
        tickets_visible_to(user)
        .filter(status__in=OPEN_STATUSES)
        .values(f"{by}_id", key)
        .annotate(
            open=Count("id"),
            overdue=Count("id", filter=Q(status__in=RUNNING, sla_due__lt=now)),
            breached=Count("id", filter=Q(breached_at__isnull=False)),
        )
        .order_by(key)
    )
    return [
        {
            "id": r[f"{by}_id"],
            "name": r[key] or "",
            "open": r["open"],
            "overdue": r["overdue"],
            "breached": r["breached"],
        }
        for r in rows
    ]


def queues_for(user: Any) -> QuerySet[Queue]:
    return (
        Queue.objects.select_related("team").prefetch_related("agents")
        if user.has_perm("service.view_queue")
        else Queue.objects.none()
    )


def policies_for(user: Any) -> QuerySet[SlaPolicy]:
    if not user.has_perm("service.view_slapolicy"):
        return SlaPolicy.objects.none()
    return SlaPolicy.objects.select_related("calendar", "escalate_queue", "escalate_user")


def canned_for(user: Any, *, language: str = "") -> QuerySet[CannedResponse]:
    if not user.has_perm("service.view_cannedresponse"):
        return CannedResponse.objects.none()
    rows = CannedResponse.objects.all()
    if language:
        rows = rows.filter(Q(language="") | Q(language=language))
    return rows
