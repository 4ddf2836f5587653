"""Service KPIs registered by the service app, the service dashboard, widget exports (CSV, PDF), the heat map,
the journey page's touchpoints and the profile links."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.analytics import kpis, selectors
from guanxi.analytics.models import KpiValue
from guanxi.core.events import events_dispatch_batch
from guanxi.service import services as desk
from guanxi.service.models import Status

from ..customers import factories as customer_factories
from ..factories import TeamFactory, UserFactory
from ..service import factories as service_factories
from . import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk_month() -> dict:
    """This month: two tickets in one queue with one agent. The phone one (a complaint) is answered once in
    20 minutes with 10 minutes' work and resolved 2 hours after opening; the email one is answered, still open."""
    team = TeamFactory(name="客服 Support")
    agent = UserFactory(roles=["service"], teams=[team], language="en")
    boss = UserFactory(roles=["administrator"], language="en")
    queue = service_factories.queue(agents=[agent], team=team)
    opened = timezone.now().replace(day=1, hour=10, minute=0, second=0, microsecond=0) + timedelta(days=1)
    if opened > timezone.now():  # the first days of a month: keep everything in the past
        opened = timezone.now() - timedelta(hours=3)
    contact = customer_factories.contact(owner=agent, team=team, email="wang@example.com")
    phone = service_factories.ticket(
        queue=queue, assignee=agent, channel="phone", category="complaint", contact=contact, opened_at=opened
    )
    mail = service_factories.ticket(queue=queue, assignee=agent, channel="email", contact=contact, opened_at=opened)
    desk.ticket_reply(
        ticket=phone, actor=agent, body="已处理 Fixed", time_spent_seconds=600, at=opened + timedelta(minutes=20)
    )
    desk.ticket_set_status(ticket=phone, status=Status.RESOLVED, actor=agent, at=opened + timedelta(hours=2))
    desk.ticket_reply(
        ticket=mail, actor=agent, body="正在查 Looking", time_spent_seconds=300, at=opened + timedelta(minutes=40)
    )
    events_dispatch_batch()
    return {"agent": agent, "boss": boss, "queue": queue, "team": team, "phone": phone, "mail": mail, "opened": opened}


def _value(code: str, dimension: str = "") -> float | None:
    month = kpis.month_start(timezone.localdate())
    row = KpiValue.objects.get(kpi=code, period=month, dimension=dimension)
    return kpis.kpis()[code].value(row.numerator, row.denominator)


def test_service_kpis_are_registered_with_their_dimensions() -> None:
    """The service app registers five KPIs cut by queue, team, agent, channel and priority."""
    registry = kpis.kpis()
    for code in ("first_contact_resolution", "handling_time", "ticket_close_rate", "complaint_handling_time"):
        assert registry[code].dimensions == ("queue", "team", "owner", "channel", "priority")
    assert registry["first_response_time"].higher_is_better is False


def test_ticket_events_keep_the_service_kpis_fresh(desk_month: dict) -> None:
    """Dispatching the tickets' events computes FCR, handling time, close rate, complaint time and first response."""
    assert _value("first_contact_resolution") == 100.0
    assert _value("handling_time") == 10.0  # 600 s of work on the one resolved ticket
    assert _value("ticket_close_rate") == 50.0  # one of the two opened this month is resolved
    assert _value("complaint_handling_time") == pytest.approx(2.0)  # hours, opening to resolution
    assert _value("first_response_time") == pytest.approx(30.0)  # 20 and 40 minutes
    queue, agent = desk_month["queue"], desk_month["agent"]
    assert _value("ticket_close_rate", f"queue:{queue.pk}") == 50.0
    assert _value("ticket_close_rate", f"owner:{agent.pk}") == 50.0
    assert _value("ticket_close_rate", "channel:phone") == 100.0
    assert _value("ticket_close_rate", "channel:email") == 0.0
    assert _value("first_response_time", "priority:normal") == pytest.approx(30.0)


def test_reopening_a_ticket_updates_the_figures(desk_month: dict) -> None:
    """A reopened ticket leaves the resolved ones: its month is recomputed from the new event."""
    desk.ticket_set_status(ticket=desk_month["phone"], status=Status.REOPENED, actor=desk_month["agent"])
    events_dispatch_batch()
    assert _value("ticket_close_rate") == 0.0
    assert _value("first_contact_resolution") is None  # nothing resolved: no ratio, never a NaN


def test_service_dashboard_shows_the_service_kpis_and_drills_to_the_tickets(desk_month: dict, login) -> None:
    """A service agent lands on the service dashboard; the close rate drills down to the tickets behind it."""
    client = login(desk_month["agent"])
    page = client.get(reverse("analytics-dashboard")).content.decode()
    for label in ("First-contact resolution", "Average handling time", "Ticket close rate", "Complaint handling time"):
        assert label in page
    assert "10 min" in page and "Tickets opened, by weekday and hour" in page
    month = timezone.localdate().strftime("%Y-%m")
    drill = client.get(reverse("analytics-drill", args=["ticket_close_rate"]) + f"?month={month}").content.decode()
    assert desk_month["phone"].number in drill and desk_month["mail"].number in drill
    outsider = UserFactory(roles=["service"], teams=[TeamFactory()])
    drill = login(outsider).get(reverse("analytics-drill", args=["ticket_close_rate"]) + f"?month={month}")
    assert desk_month["phone"].number not in drill.content.decode()


def test_sales_reps_do_not_see_service_kpis(desk_month: dict, login) -> None:
    """KPIs over tickets need the permission to read tickets."""
    rep = UserFactory(roles=["sales"], teams=[TeamFactory()])
    assert "ticket_close_rate" not in selectors.kpi_codes_for(rep)
    assert login(rep).get(reverse("analytics-drill", args=["ticket_close_rate"])).status_code == 404


def test_heat_map_counts_tickets_by_weekday_and_hour(desk_month: dict) -> None:
    """Both tickets fall in the cell of their local opening weekday and hour."""
    heat = selectors.heatmap(user=desk_month["boss"], month=timezone.localdate(), source="tickets")
    local = timezone.localtime(desk_month["opened"])
    assert heat.total == 2 and heat.cells[local.weekday()][local.hour] == 2


def test_widget_csv_has_the_same_numbers_as_the_api(desk_month: dict, login) -> None:
    """The key-figures CSV of the service dashboard equals the KPI API's values for the month."""
    client = login(desk_month["boss"])
    month = timezone.localdate().strftime("%Y-%m")
    response = client.get(reverse("analytics-widget-export", args=["numbers"]) + f"?role=service&month={month}")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    by_label = {r[0]: r[1] for r in rows[1:]}
    api = client.get(f"/api/v1/analytics/kpis/ticket_close_rate?month={month}-01&months=1").json()
    assert float(by_label["Ticket close rate"]) == api["values"][-1]["value"] == 50.0
    heat = client.get(reverse("analytics-widget-export", args=["heatmap"]) + f"?role=service&month={month}")
    cells = list(csv.reader(io.StringIO(heat.content.decode("utf-8-sig"))))
    assert len(cells) == 8 and len(cells[0]) == 25 and sum(int(v) for r in cells[1:] for v in r[1:]) == 2
    assert client.get(reverse("analytics-widget-export", args=["nope"])).status_code == 404


def test_dashboard_pdf_prints_the_widgets_numbers(desk_month: dict, login) -> None:
    """The PDF has the dashboard's title and the KPI table, in the reader's language."""
    from pypdf import PdfReader

    response = login(desk_month["boss"]).get(reverse("analytics-pdf") + "?role=service")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Service dashboard" in text and "Ticket close rate" in text and "50.00" in text


def test_journey_counts_stages_and_the_touchpoints_before_a_first_order(login) -> None:
    """A call five days before a customer's first order is a touchpoint of that conversion."""
    manager = UserFactory(roles=["manager"], teams=[TeamFactory()], language="en")
    buyer = customer_factories.contact(owner=manager, team=manager.teams.first())
    customer_factories.contact(owner=manager, team=manager.teams.first())
    first = timezone.now() - timedelta(days=20)
    customer_factories.interaction(about=buyer, actor=manager, occurred_at=first - timedelta(days=5))
    factories.order(customer=buyer, at=first, total=100)
    data = selectors.journey(user=manager, since=timezone.localdate() - timedelta(days=60))
    assert sum(s["customers"] for s in data.stages) == 2
    assert data.converted == 1
    assert [t["conversions"] for t in data.touchpoints if t["dimension"] == "kind"] == [1]
    page = login(manager).get(reverse("analytics-journey")).content.decode()
    assert "Touchpoints before conversion" in page and "First order" in page


def test_contact_and_account_pages_link_to_the_customer_profile(login) -> None:
    """The contact and account detail pages have a button to the customer profile."""
    manager = UserFactory(roles=["manager"], teams=[TeamFactory()], language="en")
    contact = customer_factories.contact(owner=manager, team=manager.teams.first())
    page = login(manager).get(contact.get_absolute_url()).content.decode()
    assert reverse("analytics-profile", args=["contact", contact.pk]) in page


def test_dashboard_api_returns_every_widget_as_the_csv_does(desk_month: dict, login) -> None:
    """GET /analytics/dashboards/service gives the widgets' tables; an unknown dashboard is a 404."""
    client = login(desk_month["boss"])
    body = client.get("/api/v1/analytics/dashboards/service").json()
    widgets = {w["widget"]: w for w in body["widgets"]}
    assert set(widgets) == set(selectors.WIDGETS)
    numbers = {r[0]: r[1] for r in widgets["numbers"]["rows"]}
    assert numbers["Ticket close rate"] == 50.0
    assert sum(sum(r[1:]) for r in widgets["heatmap"]["rows"]) == 2
    assert client.get("/api/v1/analytics/dashboards/nope").status_code == 404
