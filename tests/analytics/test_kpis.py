"""The KPI engine: event-driven values per month and dimension, the same numbers on the dashboard,
its CSV export and the API, scoped drill-down, CAC from acquisition spend, the registry."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from guanxi.analytics import kpis, selectors, services
from guanxi.analytics.models import KpiValue
from guanxi.core.events import events_dispatch_batch

from ..customers import factories as customer_factories
from ..factories import TeamFactory, UserFactory
from . import factories

pytestmark = pytest.mark.django_db


def _month_ago(months: int) -> datetime:
    first = timezone.localdate().replace(day=1)
    for _i in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
    return timezone.make_aware(datetime.combine(first, datetime.min.time())) + timedelta(days=9, hours=10)


@pytest.fixture
def teams() -> dict:
    north, south = TeamFactory(name="华北 North"), TeamFactory(name="华南 South")
    rep_n = UserFactory(roles=["sales"], teams=[north], language="en")
    rep_s = UserFactory(roles=["sales"], teams=[south], language="en")
    boss = UserFactory(roles=["administrator"], language="en")
    return {"north": north, "south": south, "rep_n": rep_n, "rep_s": rep_s, "boss": boss}


def _orders(teams: dict) -> None:
    """Last month: North sells 100 + 300 to two customers; South 200. This month the first North customer rebuys."""
    a = customer_factories.contact(owner=teams["rep_n"], team=teams["north"])
    b = customer_factories.contact(owner=teams["rep_n"], team=teams["north"])
    c = customer_factories.contact(owner=teams["rep_s"], team=teams["south"])
    factories.order(customer=a, at=_month_ago(1), total=100)
    factories.order(customer=b, at=_month_ago(1), total=300)
    factories.order(customer=c, at=_month_ago(1), total=200)
    factories.order(customer=a, at=_month_ago(0), total=50)
    factories.order(customer=c, at=_month_ago(0), total=80, status="cancelled")
    events_dispatch_batch()


def test_new_orders_update_kpi_values_through_the_event_spine(teams: dict) -> None:
    """Dispatching the orders' events fills revenue, AOV, repurchase and retention per month and team."""
    _orders(teams)
    last = _month_ago(1).date().replace(day=1)
    row = KpiValue.objects.get(kpi="revenue", period=last, dimension="")
    assert row.numerator == 600
    north = KpiValue.objects.get(kpi="aov", period=last, dimension=f"team:{teams['north'].pk}")
    assert north.numerator / north.denominator == 200
    this = _month_ago(0).date().replace(day=1)
    repurchase = KpiValue.objects.get(kpi="repurchase_rate", period=this, dimension="")
    assert (repurchase.numerator, repurchase.denominator) == (1, 1)  # the cancelled order does not count
    retention = KpiValue.objects.get(kpi="retention_rate", period=this, dimension="")
    assert (retention.numerator, retention.denominator) == (1, 3)


def test_each_user_sees_the_figures_of_their_scope(teams: dict) -> None:
    """The administrator sees the company; a North rep sees North's revenue only."""
    _orders(teams)
    last = _month_ago(1).date().replace(day=1)
    company = selectors.kpi_series(user=teams["boss"], code="revenue", months=[last])[0]
    north = selectors.kpi_series(user=teams["rep_n"], code="revenue", months=[last])[0]
    assert (company.value, north.value) == (600, 400)


def test_dashboard_export_and_api_show_the_same_number(teams: dict, login, bearer) -> None:
    """The AOV on the dashboard, in the widget CSV and from the API is one figure."""
    _orders(teams)
    month = _month_ago(1).strftime("%Y-%m")
    page = login(teams["boss"]).get(reverse("analytics-dashboard"), {"month": month}).content.decode()
    assert "¥200" in page
    export = login(teams["boss"]).get(reverse("analytics-export", args=["aov"]), {"month": month})
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[-1][0] == month and float(rows[-1][1]) == 200
    api = bearer(teams["boss"]).get("/api/v1/analytics/kpis/aov", {"month": f"{month}-01"}).json()
    assert api["values"][-1]["value"] == 200


def test_drill_down_lists_only_the_records_the_user_may_see(teams: dict, login) -> None:
    """A South rep drilling into revenue sees South's order, not North's."""
    _orders(teams)
    month = _month_ago(1).strftime("%Y-%m")
    rows = selectors.drill_records(user=teams["rep_s"], code="revenue", month=_month_ago(1).date().replace(day=1))
    assert rows.count() == 1
    page = login(teams["rep_s"]).get(reverse("analytics-drill", args=["revenue"]), {"month": month})
    assert page.status_code == 200 and page.content.decode().count("SO-") == 1


def test_cac_is_spend_over_new_customers(teams: dict) -> None:
    """Spend entered for a month divided by the customers whose first order fell in it, for everyone."""
    _orders(teams)
    last = _month_ago(1).date().replace(day=1)
    services.acquisition_spend_set(actor=teams["boss"], channel="web", month=last.strftime("%Y-%m"), amount="900")
    events_dispatch_batch()
    figure = selectors.kpi_series(user=teams["boss"], code="cac", months=[last])[0]
    assert figure.value == 300
    # CAC is a company-wide figure without records in it: a rep sees the same number
    assert selectors.kpi_series(user=teams["rep_n"], code="cac", months=[last])[0].value == 300


def test_bad_spend_names_the_fields_and_saves_nothing(teams: dict) -> None:
    """An unknown channel, a bad month and a negative amount are each reported on their field."""
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.acquisition_spend_set(actor=teams["boss"], channel="fax", month="2025-13", amount="-5")
    assert set(exc.value.message_dict) == {"channel", "month", "amount"}
    assert "Enter an amount of zero or more." in exc.value.message_dict["amount"]


def test_other_apps_register_their_kpis() -> None:
    """A KPI registered later (a service app's first-contact resolution) is computed like the built-in ones."""
    item = kpis.kpi(
        code="test_constant",
        label="Constant",
        unit="count",
        kind="sum",
        formula=lambda start, end: [("", 7.0, 0.0)],
        sources=["service.ticket"],
    )
    try:
        kpis.kpis_refresh(months=[timezone.localdate().replace(day=1)], codes=[item.code])
        assert KpiValue.objects.get(kpi="test_constant").numerator == 7
    finally:
        kpis._registry.pop("test_constant")


def test_one_dispatch_batch_reads_each_month_once_and_later_orders_still_count(teams: dict) -> None:
    """The month's company row records the newest event it had read, so the batch's other orders of the
    month are not recounted; an order after that is counted when its own event arrives."""
    from guanxi.core.models import Event

    _orders(teams)
    this = timezone.localdate().replace(day=1)
    newest_order_event = Event.objects.filter(content_type__model="order").order_by("-id").first()
    row = KpiValue.objects.get(kpi="revenue", period=this, dimension="")
    assert row.as_of_event >= newest_order_event.pk and row.numerator == 50
    customer = customer_factories.contact(owner=teams["rep_n"], team=teams["north"])
    factories.order(customer=customer, at=_month_ago(0), total=70)
    events_dispatch_batch()
    assert KpiValue.objects.get(kpi="revenue", period=this, dimension="").numerator == 120


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_a_team_filter_cuts_every_widget_export_pdf_and_api_alike(teams: dict, login, bearer) -> None:
    """Filtered to North, revenue is North's 400 on the page, in the widget CSV and from the dashboard API;
    CAC (kept company-wide only) says it is not available by team instead of showing its number; the PDF
    carries the filter."""
    _orders(teams)
    month, north = _month_ago(1).strftime("%Y-%m"), str(teams["north"].pk)
    query = {"month": month, "role": "executive", "dimension": "team", "value": north}
    client = login(teams["boss"])
    page = client.get(reverse("analytics-dashboard"), {**query, "filter": f"team:{north}"}).content.decode()
    assert "¥400" in page and "not available by team" in page and "华北 North" in page
    rows = {r[0]: r[1] for r in _csv_rows(client.get(reverse("analytics-widget-export", args=["numbers"]), query))}
    assert float(rows["Revenue"]) == 400 and rows["Customer acquisition cost"] == "not available by team"
    api = bearer(teams["boss"]).get(
        "/api/v1/analytics/dashboards/executive", {"month": f"{month}-01", "dimension": "team", "value": north}
    )
    numbers = {r[0]: r[1] for r in api.json()["widgets"][0]["rows"]}
    assert api.json()["filter"]["label"] == "华北 North" and numbers["Revenue"] == 400
    pdf = client.get(reverse("analytics-pdf"), query)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_drill_down_and_kpi_export_follow_the_filter(teams: dict, login) -> None:
    """Revenue drilled with the South filter lists South's one order; the KPI CSV gives South's 200; drilling
    CAC by team is refused with the reason, not answered with every order."""
    _orders(teams)
    month, south = _month_ago(1).strftime("%Y-%m"), str(teams["south"].pk)
    client = login(teams["boss"])
    query = {"month": month, "dimension": "team", "value": south}
    drill = client.get(reverse("analytics-drill", args=["revenue"]), query)
    assert drill.status_code == 200 and drill.content.decode().count("SO-") == 1
    export = _csv_rows(client.get(reverse("analytics-export", args=["revenue"]), query))
    assert float(export[-1][1]) == 200
    refused = client.get(reverse("analytics-drill", args=["cac"]), query)
    assert refused.status_code == 400 and "not available by team" in refused.content.decode()


def test_bad_or_out_of_scope_filters_get_a_clear_error(teams: dict, login, bearer) -> None:
    """An unknown dimension, a team outside the user's scope, and a channel filter for a scoped rep (channel
    figures are company-wide) each get an error naming the problem: the page still renders, unfiltered."""
    _orders(teams)
    month = _month_ago(1).strftime("%Y-%m")
    boss = login(teams["boss"]).get(reverse("analytics-dashboard"), {"month": month, "filter": "planet:mars"})
    assert boss.status_code == 400 and "Unknown dimension “planet”" in boss.content.decode()
    assert "¥600" in boss.content.decode()  # unfiltered, and not labelled as filtered
    rep = login(teams["rep_n"])
    other = rep.get(reverse("analytics-dashboard"), {"month": month, "filter": f"team:{teams['south'].pk}"})
    assert other.status_code == 400 and "among those you may see" in other.content.decode()
    assert selectors.dashboard_dimensions(teams["rep_n"], "sales") == ["team", "owner"]
    api = bearer(teams["rep_n"]).get("/api/v1/analytics/dashboards/sales", {"dimension": "channel", "value": "email"})
    assert api.status_code in (400, 422) and "dimension" in api.content.decode()
    with pytest.raises(ValidationError):
        selectors.dashboard_slice(user=teams["boss"], role="mine", dimension="team", value=str(teams["north"].pk))


def test_an_empty_month_keeps_a_company_row_so_a_batch_recounts_it_once(teams: dict) -> None:
    """The month after an order (recomputed for retention) has no orders yet; it still gets its company row,
    stamped with the event it is fresh to, so the rest of a dispatch batch skips it instead of recounting."""
    _orders(teams)
    following = kpis.next_month(timezone.localdate().replace(day=1))
    row = KpiValue.objects.get(kpi="repurchase_rate", period=following, dimension="")
    assert (row.numerator, row.denominator) == (0, 0) and row.as_of_event > 0


def test_a_dispatch_batch_reads_the_kpis_freshness_once_not_per_event(teams: dict) -> None:
    """Forty new orders dispatched in one batch: the KPI values are read three times for the whole batch (the
    months' freshness at its start; the stamps and the stored values when the orders' differences are added
    at its end), not once per event, and the figures are those of event-by-event handling."""
    _orders(teams)
    buyer = customer_factories.contact(owner=teams["rep_s"], team=teams["south"])
    for _ in range(40):
        factories.order(customer=buyer, at=_month_ago(0), total=10)
    with CaptureQueriesContext(connection) as queries:
        events_dispatch_batch()
    reads = [q for q in queries.captured_queries if q["sql"].startswith("SELECT") and "analytics_kpivalue" in q["sql"]]
    assert len(reads) == 3
    this = _month_ago(0).date().replace(day=1)
    assert KpiValue.objects.get(kpi="revenue", period=this, dimension="").numerator == 50 + 40 * 10
    south = KpiValue.objects.get(kpi="revenue", period=this, dimension=f"team:{teams['south'].pk}")
    assert south.numerator == 400
