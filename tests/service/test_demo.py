"""Demo service desk: a year of tickets on the demo customers, with replies and SLA outcomes, loaded once."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from guanxi.service.models import BusinessCalendar, Queue, SlaPolicy, Ticket, TicketMessage

pytestmark = pytest.mark.django_db


def test_the_demo_loads_a_year_of_tickets_with_outcomes_once(capsys):
    """Tickets reach back about a year, most answered and resolved, some breached; a re-run adds nothing."""
    call_command("demo", customers=200, seed=5, users=30)
    tickets = Ticket.objects.all()
    assert tickets.count() == 40
    assert tickets.order_by("opened_at").first().opened_at < timezone.now() - timedelta(days=300)
    assert tickets.filter(first_response_at__isnull=False).count() > 20
    assert tickets.filter(status__in=["resolved", "closed"]).count() > 15
    assert tickets.filter(breached_at__isnull=False).exists()
    assert TicketMessage.objects.filter(from_customer=False).count() > 20
    assert BusinessCalendar.objects.get().days.filter(kind="workday").exists()
    assert Queue.objects.filter(is_default=True).exists() and SlaPolicy.objects.count() == 4
    call_command("demo", customers=200, seed=5, users=30)
    assert Ticket.objects.count() == 40
