"""CSAT, NPS and CES in the analytics KPI engine: registered once by the feedback app, by channel, team, agent
and product, and kept fresh by the survey events on the event spine."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from guanxi.analytics.kpis import kpis, month_start
from guanxi.analytics.models import KpiValue
from guanxi.core.events import events_dispatch_batch
from guanxi.feedback import services
from guanxi.feedback.models import SurveyInvitation

from . import factories

pytestmark = pytest.mark.django_db


def test_the_three_kpis_are_registered_with_formula_unit_and_dimensions() -> None:
    """The feedback app defines CSAT, NPS and CES once, with their units and the dimensions they split by."""
    registry = kpis()
    assert {"csat", "nps", "ces"} <= set(registry)
    assert registry["csat"].unit == "%" and registry["nps"].unit == "score"
    for code in ("csat", "nps", "ces"):
        assert set(registry[code].dimensions) == {"channel", "team", "owner", "product"}
        assert "feedback.survey" in registry[code].sources


def _answer(survey: Any, contact: Any, score: int, **invite: Any) -> None:
    invitation = services.survey_invite(survey=survey, contact=contact, actor=None, **invite)
    assert invitation is not None
    services.survey_answer(token=services.survey_token(invitation), score=score)


def test_answers_refresh_the_kpis_by_channel_team_agent_and_product(world: dict[str, Any]) -> None:
    """After answers arrive and the event spine is drained, the month's NPS and CSAT are stored per dimension."""
    agent, team = world["users"]["service"], world["teams"]["east"]
    nps = factories.survey(actor=agent, kind="nps", throttle_days=0)
    csat = factories.survey(actor=agent, kind="csat", throttle_days=0)
    services.feedback_settings_save(actor=agent, survey_throttle_days=0)
    for score in (10, 9, 3):
        _answer(nps, factories.contact(owner=agent), score, channel="email", team=team, agent=agent, product_id=77)
    for score in (5, 2):
        _answer(csat, factories.contact(owner=agent), score, channel="phone")
    events_dispatch_batch()
    period = month_start(timezone.localdate())
    values = {(v.kpi, v.dimension): v for v in KpiValue.objects.filter(kpi__in=["nps", "csat", "ces"], period=period)}
    overall = values[("nps", "")]
    assert registry_value("nps", overall) == pytest.approx(100 * (2 - 1) / 3)
    for dim in ("channel:email", f"team:{team.pk}", f"owner:{agent.pk}", "product:77"):
        assert values[("nps", dim)].denominator == 3
    assert registry_value("csat", values[("csat", "")]) == pytest.approx(50.0)
    assert values[("csat", "channel:phone")].numerator == 1
    assert SurveyInvitation.objects.count() == 5


def registry_value(code: str, row: KpiValue) -> float | None:
    return kpis()[code].value(row.numerator, row.denominator)
