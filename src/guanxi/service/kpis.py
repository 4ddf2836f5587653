"""The service desk's KPIs, registered with the analytics KPI engine: first-contact resolution, average
handling time, ticket close rate, complaint handling time and first response time.

Each is computed per month from the measures the ticket services keep on the ticket (they are written
in the same transaction as the ticket's event), for everyone and per queue, team, agent, channel and
priority. The engine recomputes a month when a ticket's event arrives; a ticket's months are those of
its opening, first response, resolution and closing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, FloatField, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from guanxi.analytics.kpis import Row, grouped, kpi, kpi_source

from .models import Status, Ticket

# the dimensions a service KPI is cut by: dimension name → ticket field ("owner" is the agent)
DIMENSIONS = {"queue": "queue", "team": "team", "owner": "owner", "channel": "channel", "priority": "priority"}
# ticket categories counted as complaints (投诉)
COMPLAINT_CATEGORIES = ("complaint", "投诉")
DONE = [Status.RESOLVED, Status.CLOSED]


def _total(name: str, per: float = 1.0) -> Any:
    """The sum of an integer measure as a float, divided by `per` (seconds → minutes …)."""
    return Sum(Cast(name, FloatField())) / Value(per)


def _resolved(start: datetime, end: datetime) -> QuerySet[Ticket]:
    return Ticket.objects.filter(resolved_at__gte=start, resolved_at__lt=end)


def first_contact_resolution_formula(start: datetime, end: datetime) -> list[Row]:
    """Of the tickets resolved in the month, the share resolved with one answer and never reopened."""
    qs = _resolved(start, end).filter(first_contact_resolution__isnull=False)
    return grouped(qs, Count("id", filter=Q(first_contact_resolution=True)), Count("id"), DIMENSIONS)


def handling_time_formula(start: datetime, end: datetime) -> list[Row]:
    """Agents' recorded working time per ticket resolved in the month, in minutes."""
    return grouped(_resolved(start, end), _total("handle_seconds", 60.0), Count("id"), DIMENSIONS)


def close_rate_formula(start: datetime, end: datetime) -> list[Row]:
    """Of the tickets opened in the month, the share resolved or closed by now."""
    qs = Ticket.objects.filter(opened_at__gte=start, opened_at__lt=end)
    return grouped(qs, Count("id", filter=Q(status__in=DONE)), Count("id"), DIMENSIONS)


def complaint_time_formula(start: datetime, end: datetime) -> list[Row]:
    """Hours from opening to resolution of the complaint tickets resolved in the month."""
    qs = _resolved(start, end).filter(category__in=COMPLAINT_CATEGORIES, resolution_minutes__isnull=False)
    return grouped(qs, _total("resolution_minutes", 60.0), Count("id"), DIMENSIONS)


def first_response_formula(start: datetime, end: datetime) -> list[Row]:
    """Minutes from opening to the first answer, for the tickets first answered in the month."""
    qs = Ticket.objects.filter(
        first_response_at__gte=start, first_response_at__lt=end, first_response_minutes__isnull=False
    )
    return grouped(qs, _total("first_response_minutes"), Count("id"), DIMENSIONS)


def _listed(qs: QuerySet[Any]) -> QuerySet[Any]:
    return qs.select_related("queue", "owner", "contact", "account")


def _resolved_records(qs: QuerySet[Any], start: datetime, end: datetime) -> QuerySet[Any]:
    return _listed(qs.filter(resolved_at__gte=start, resolved_at__lt=end).order_by("-resolved_at", "-id"))


def _opened_records(qs: QuerySet[Any], start: datetime, end: datetime) -> QuerySet[Any]:
    return _listed(qs.filter(opened_at__gte=start, opened_at__lt=end).order_by("-opened_at", "-id"))


def _answered_records(qs: QuerySet[Any], start: datetime, end: datetime) -> QuerySet[Any]:
    return _listed(
        qs.filter(first_response_at__gte=start, first_response_at__lt=end).order_by("-first_response_at", "-id")
    )


def _complaint_records(qs: QuerySet[Any], start: datetime, end: datetime) -> QuerySet[Any]:
    return _resolved_records(qs, start, end).filter(category__in=COMPLAINT_CATEGORIES)


def register() -> None:
    """Register the service KPIs (called from the service app's `ready()`)."""
    kpi_source("service.ticket", Ticket, "opened_at", "first_response_at", "resolved_at", "closed_at")
    common: dict[str, Any] = {
        "sources": ["service.ticket"],
        "dimensions": tuple(DIMENSIONS),
        "drill": "tickets",
        "records_model": Ticket,
        "records_perm": "service.view_ticket",
    }
    kpi(
        code="first_contact_resolution",
        label=_("First-contact resolution"),
        unit="%",
        formula=first_contact_resolution_formula,
        records=_resolved_records,
        help=_("Tickets resolved with one answer and never reopened ÷ tickets resolved in the month."),
        **common,
    )
    kpi(
        code="handling_time",
        label=_("Average handling time"),
        unit="min",
        formula=handling_time_formula,
        records=_resolved_records,
        higher_is_better=False,
        help=_("Agents' recorded working minutes per ticket resolved in the month."),
        **common,
    )
    kpi(
        code="ticket_close_rate",
        label=_("Ticket close rate"),
        unit="%",
        formula=close_rate_formula,
        records=_opened_records,
        help=_("Tickets opened in the month that are resolved or closed ÷ tickets opened in the month."),
        **common,
    )
    kpi(
        code="complaint_handling_time",
        label=_("Complaint handling time"),
        unit="h",
        formula=complaint_time_formula,
        records=_complaint_records,
        higher_is_better=False,
        help=_("Hours from opening to resolution of the complaint tickets resolved in the month."),
        **common,
    )
    kpi(
        code="first_response_time",
        label=_("First response time"),
        unit="min",
        formula=first_response_formula,
        records=_answered_records,
        higher_is_better=False,
        help=_("Minutes from opening to the first answer, for the tickets first answered in the month."),
        **common,
    )


register()
