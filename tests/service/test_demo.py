"""Demo service desk: a year of tickets on the demo customers, with replies and SLA outcomes, loaded once."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from guanxi.service import portal
from guanxi.service.models import BusinessCalendar, PortalAccount, Queue, SlaPolicy, Ticket, TicketMessage

pytestmark = pytest.mark.django_db


def test_the_demo_loads_a_year_of_tickets_with_outcomes_once(capsys):
    """Tickets reach back about a year, most answered and resolved, some breached; three customers with tickets
    sign in to the portal with the demo password (printed); a re-run adds nothing."""
    call_command("demo", customers=200, seed=5, users=30, password="demo-pass-123")
    tickets = Ticket.objects.all()
    assert tickets.count() == 40
    assert tickets.order_by("opened_at").first().opened_at < timezone.now() - timedelta(days=300)
    assert tickets.filter(first_response_at__isnull=False).count() > 20
    assert tickets.filter(status__in=["resolved", "closed"]).count() > 15
    assert tickets.filter(breached_at__isnull=False).exists()
    assert TicketMessage.objects.filter(from_customer=False).count() > 20
    assert BusinessCalendar.objects.get().days.filter(kind="workday").exists()
    assert Queue.objects.filter(is_default=True).exists() and SlaPolicy.objects.count() == 4
    accounts = list(PortalAccount.objects.all())
    assert len(accounts) == 3 and all(portal.portal_tickets(a).exists() for a in accounts)
    assert sorted(a.language for a in accounts) == ["en", "zh-hans", "zh-hans"]
    assert portal.portal_sign_in_password(email=accounts[0].email, password="demo-pass-123", ip="")
    assert accounts[0].email in capsys.readouterr().out
    call_command("demo", customers=200, seed=5, users=30)
    assert Ticket.objects.count() == 40 and PortalAccount.objects.count() == 3
