"""Analytics pages: empty states, the customer profile, value lists with the task action, spend entry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.analytics import services
from guanxi.analytics.models import AcquisitionSpend, CustomerScore
from guanxi.customers.models import Interaction

from ..factories import TeamFactory
from . import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(make_user):
    return make_user("manager", teams=[TeamFactory()], language="en")


def test_empty_pages_say_what_to_do_next(manager, login) -> None:
    """Before any data the dashboard and the value lists explain where figures come from."""
    client = login(manager)
    assert "No figures for this month yet." in client.get(reverse("analytics-dashboard")).content.decode()
    assert "No customer scores yet." in client.get(reverse("analytics-customers")).content.decode()


@pytest.fixture
def scored(manager):
    data = factories.history(customers=40, seed=11, owner=manager, team=manager.teams.first())
    services.scores_refresh(asof=timezone.localdate() - timedelta(days=1), actor=manager)
    return data


def test_profile_shows_value_segment_clv_churn_reasons_and_suggestions(manager, login, scored) -> None:
    """客户画像: revenue, RFM segment, predicted value and churn risk with its reasons."""
    score = CustomerScore.objects.exclude(churn_factors=[]).exclude(clv=None).order_by("-churn_risk").first()
    page = login(manager).get(score.get_absolute_url()).content.decode()
    assert "Customer profile" in page and str(score.customer) in page
    assert score.get_segment_display() in page
    assert "Predicted value (12 months)" in page and "Main reasons" in page
    assert "Days since the last order" in page or "Total spent" in page or "Orders in the last 90 days" in page


def test_profile_without_scores_explains_when_it_appears(manager, login) -> None:
    """A customer who never ordered gets an empty state, not an error."""
    from ..customers import factories as customer_factories

    contact = customer_factories.contact(owner=manager)
    page = login(manager).get(reverse("analytics-profile", args=["contact", contact.pk])).content.decode()
    assert "No analytics for this customer yet." in page


def test_at_risk_list_creates_a_follow_up_task(manager, login, scored) -> None:
    """From the at-risk list one click creates a task on that customer for the manager."""
    client = login(manager)
    page = client.get(reverse("analytics-customers"), {"list": "risk"}).content.decode()
    assert "Create a task" in page
    score = CustomerScore.objects.filter(churn_risk__gte=0.5).first()
    response = client.post(reverse("analytics-task", args=[score.pk]))
    assert response.status_code == 302
    task = Interaction.objects.get(kind=Interaction.Kind.TASK)
    assert task.contact_id == score.contact_id and task.assignee == manager


def test_spend_form_names_the_bad_field_and_saves_a_good_entry(make_user, login) -> None:
    """Marketing enters spend; a bad amount is reported on the field and nothing is saved."""
    marketer = make_user("marketing", language="en")
    client = login(marketer)
    bad = client.post(reverse("analytics-spend"), {"channel": "web", "month": "2026-03", "amount": "abc"})
    assert bad.status_code == 400 and "Enter an amount of zero or more." in bad.content.decode()
    assert not AcquisitionSpend.objects.exists()
    good = client.post(reverse("analytics-spend"), {"channel": "web", "month": "2026-03", "amount": "5000"})
    assert good.status_code == 302 and AcquisitionSpend.objects.get().amount == 5000


def test_the_profile_api_returns_the_same_scores(manager, bearer, scored) -> None:
    """The API profile carries the segment, CLV, churn risk and reasons the page shows."""
    score = CustomerScore.objects.exclude(churn_factors=[]).first()
    body = bearer(manager).get(f"/api/v1/analytics/profiles/contact/{score.contact_id}").json()
    assert body["score"]["segment"] == score.segment
    assert float(body["score"]["clv"]) == float(score.clv)
    assert [r["feature"] for r in body["churn_reasons"]] == [f["feature"] for f in score.churn_factors]
    segments = bearer(manager).get("/api/v1/analytics/segments").json()
    assert sum(s["customers"] for s in segments) == CustomerScore.objects.count()


def test_weekly_dashboard_email_carries_the_users_numbers(manager, login, mailoutbox) -> None:
    """A subscriber gets last month's figures of their dashboard by email, once a week."""
    from datetime import datetime

    from guanxi.analytics.models import DashboardSubscription
    from guanxi.core.events import events_dispatch_batch

    from ..customers import factories as customer_factories

    contact = customer_factories.contact(owner=manager, team=manager.teams.first())
    today = timezone.localdate()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=10)
    factories.order(
        customer=contact, at=timezone.make_aware(datetime.combine(last_month, datetime.min.time())), total=321
    )
    events_dispatch_batch()
    login(manager).post(reverse("analytics-subscribe"), {"role": "executive"})
    assert DashboardSubscription.objects.filter(user=manager, role="executive").exists()
    assert services.dashboard_emails_send() == 1
    assert services.dashboard_emails_send() == 0, "not twice in one week"
    message = mailoutbox[0]
    assert message.to == [manager.email] and "Revenue: 321.00 CNY" in message.body


def test_a_marketer_opens_the_marketing_dashboard_by_default(make_user, login, bearer) -> None:
    """A marketer's default dashboard is the marketing one: acquisition cost from the spend they entered ÷
    the month's new customers, beside value, loyalty and satisfaction; the API serves the same dashboard,
    and the marketer can have it emailed weekly."""
    from datetime import datetime

    from guanxi.analytics.models import DashboardSubscription
    from guanxi.core.events import events_dispatch_batch

    from ..customers import factories as customer_factories

    team = TeamFactory()
    marketer, rep = make_user("marketing", teams=[team], language="en"), make_user("sales", teams=[team])
    today = timezone.localdate()
    client = login(marketer)
    client.post(reverse("analytics-spend"), {"channel": "web", "month": today.strftime("%Y-%m"), "amount": "5000"})
    noon = timezone.make_aware(datetime.combine(today.replace(day=1), datetime.min.time())) + timedelta(hours=12)
    for total in (300, 500):
        factories.order(customer=customer_factories.contact(owner=rep, team=rep.teams.first()), at=noon, total=total)
    events_dispatch_batch()
    page = client.get(reverse("analytics-dashboard")).content.decode()
    assert '<option value="marketing" selected>Marketing</option>' in page
    for label in ("Customer acquisition cost", "Predicted customer value", "Retention rate", "NPS", "CSAT"):
        assert label in page
    assert "Deals won rate" not in page  # a sales figure, not on this dashboard
    body = bearer(marketer).get("/api/v1/analytics/dashboards/marketing").json()
    numbers = {row[0]: row[1] for row in body["widgets"][0]["rows"]}
    assert body["role"] == "marketing" and numbers["Customer acquisition cost"] == 2500
    assert numbers["Revenue"] == 800  # their team's, as everywhere
    client.post(reverse("analytics-subscribe"), {"role": "marketing"})
    assert DashboardSubscription.objects.filter(user=marketer, role="marketing").exists()
