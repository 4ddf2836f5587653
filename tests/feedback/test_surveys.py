"""Surveys: trigger on the event spine, throttling, signed single-use links, range checks, detractor follow-ups,
points once, and the report figures (NPS with its confidence interval)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from guanxi.core.events import events_dispatch_batch
from guanxi.feedback import selectors, services
from guanxi.feedback.models import FeedbackItem, PointsEntry, SurveyAnswer, SurveyInvitation

from . import factories

pytestmark = pytest.mark.django_db


def _token_from_mail() -> str:
    body = mail.outbox[-1].body
    return body.split("/f/survey/")[1].split("/")[0]


def test_resolving_a_record_sends_the_triggered_survey_once(world: dict[str, Any]) -> None:
    """A `status_changed` to resolved on a record with a customer sends the 'resolved' survey, once per event."""
    agent = world["users"]["service"]
    survey = factories.survey(actor=agent, trigger="resolved")
    customer = factories.contact(owner=agent)
    item = factories.item(owner=agent, contact=customer)
    services.feedback_resolve(item=item, resolution="已处理", actor=agent)
    events_dispatch_batch()
    events_dispatch_batch()
    invitation = SurveyInvitation.objects.get(survey=survey)
    assert invitation.contact == customer and invitation.agent == agent
    assert len([m for m in mail.outbox if customer.email in m.to]) == 1


def test_throttling_skips_recently_surveyed_customers(world: dict[str, Any]) -> None:
    """A customer surveyed within the throttle period is skipped; after it they are asked again."""
    agent = world["users"]["marketing"]
    survey = factories.survey(actor=agent, throttle_days=30)
    customer = factories.contact(owner=agent)
    assert services.survey_send(survey=survey, contacts=[customer], actor=agent) == {"sent": 1, "skipped": 0}
    assert services.survey_send(survey=survey, contacts=[customer], actor=agent) == {"sent": 0, "skipped": 1}
    SurveyInvitation.objects.update(created_at=timezone.now() - timedelta(days=31))
    assert services.survey_send(survey=survey, contacts=[customer], actor=agent) == {"sent": 1, "skipped": 0}


def test_answer_once_with_range_check_and_detractor_follow_up(world: dict[str, Any]) -> None:
    """Out-of-range scores are refused; a detractor answer opens a follow-up item; a replay is refused; points once."""
    agent = world["users"]["marketing"]
    survey = factories.survey(actor=agent)
    customer = factories.contact(owner=agent)
    services.survey_send(survey=survey, contacts=[customer], actor=agent)
    token = _token_from_mail()
    with pytest.raises(ValidationError) as caught:
        services.survey_answer(token=token, score=11)
    assert "score" in caught.value.message_dict
    with pytest.raises(ValidationError):
        services.survey_answer(token=token, score=None)
    services.survey_answer(token=token, score=3, text="客服一直不回复")
    assert selectors.score_report()["nps"]["detractors"] == 1  # the answer is counted in the reports at once
    with pytest.raises(ValidationError) as caught:
        services.survey_answer(token=token, score=10)
    assert "token" in caught.value.message_dict
    assert SurveyAnswer.objects.count() == 1
    follow_up = FeedbackItem.objects.get(channel="survey")
    assert follow_up.contact == customer and follow_up.kind == "complaint" and follow_up.severity == "high"
    assert list(PointsEntry.objects.filter(contact=customer).values_list("reason", flat=True)) == ["survey"]


def test_forged_links_are_refused(world: dict[str, Any]) -> None:
    """A link with a changed signature, or a signed link for an unknown invitation, is refused."""
    agent = world["users"]["marketing"]
    survey = factories.survey(actor=agent)
    services.survey_send(survey=survey, contacts=[factories.contact(owner=agent)], actor=agent)
    token = _token_from_mail()
    for bad in (
        token[:-3] + "abc",
        "nonsense",
        services.signing.dumps({"i": 999, "n": "x"}, salt=services.SURVEY_SALT),
    ):
        with pytest.raises(ValidationError):
            services.survey_answer(token=bad, score=9)


def test_custom_questions_are_checked(world: dict[str, Any]) -> None:
    """A custom survey's scale answers must fall in their range; text answers are kept."""
    agent = world["users"]["marketing"]
    survey = factories.survey(
        actor=agent,
        kind="custom",
        questions=[{"label": "配送速度", "type": "scale", "min": 1, "max": 5}, {"label": "建议"}],
    )
    services.survey_send(survey=survey, contacts=[factories.contact(owner=agent)], actor=agent)
    token = _token_from_mail()
    with pytest.raises(ValidationError) as caught:
        services.survey_answer(token=token, score=None, answers={"q1": "9"})
    assert "q1" in caught.value.message_dict
    answer = services.survey_answer(token=token, score=None, answers={"q1": "4", "q2": "更快一点 🚀"})
    assert answer.answers == {"q1": 4, "q2": "更快一点 🚀"} and answer.score is None


def test_nps_confidence_interval() -> None:
    """NPS is %promoters − %detractors; its 95 % interval comes from the multinomial variance."""
    figures = selectors.nps_figures(promoters=50, passives=30, detractors=20)
    assert figures["nps"] == 30.0
    # variance = 0.5 + 0.2 − 0.3² = 0.61 ; half-width = 1.96·√(0.61/100) ≈ 0.153
    assert figures["low"] == pytest.approx(14.7, abs=0.1) and figures["high"] == pytest.approx(45.3, abs=0.1)
    assert selectors.nps_figures(0, 0, 0)["nps"] is None


def test_score_report_counts_each_kind(world: dict[str, Any]) -> None:
    """The report gives NPS, CSAT share of 4–5 and CES mean from the answers, by month and by channel."""
    agent = world["users"]["marketing"]
    nps = factories.survey(actor=agent, kind="nps")
    csat = factories.survey(actor=agent, kind="csat")
    now = timezone.now()
    rows = [SurveyAnswer(survey=nps, kind="nps", score=s, channel="email", created_at=now) for s in (10, 9, 7, 3)]
    rows += [SurveyAnswer(survey=csat, kind="csat", score=s, created_at=now) for s in (5, 4, 2)]
    SurveyAnswer.objects.bulk_create(rows)
    services.score_rollup_rebuild()  # bulk loads skip the service, so the rollup is recounted
    with translation.override("en"):
        report = selectors.score_report(group="channel")
    assert report["nps"]["nps"] == 25.0
    assert report["csat"]["score"] == pytest.approx(66.7)
    by_channel = {row["key"]: row for row in report["by"]}
    assert by_channel["Email"]["n"] == 4  # the translated channel label, not the raw code
    with translation.override("zh-hans"):
        assert "邮件" in {row["key"] for row in selectors.score_report(group="channel")["by"]}
    assert report["months"][0]["nps"] == 25.0


def test_report_by_product_uses_the_product_of_the_triggering_order(world: dict[str, Any]) -> None:
    """An order completed for a customer sends the 'completed' survey remembering the order's product; the
    report by product groups the answers under the product's name while the overall figures count every answer."""
    from guanxi.sales import order_services

    from ..sales import order_factories

    agent = world["users"]["sales"]
    survey = factories.survey(actor=agent, kind="nps", trigger="completed", throttle_days=0)
    product = order_factories.product(name="智能音箱 Smart speaker")
    customer = factories.contact(owner=agent)
    order = order_factories.order(owner=agent, contact=customer, lines=[{"product": product.pk, "quantity": "1"}])
    for status in ("paid", "shipped", "completed"):
        order_services.order_set_status(order=order, status=status, actor=agent)
    events_dispatch_batch()
    invitation = SurveyInvitation.objects.get(survey=survey)
    assert invitation.product_id == product.pk
    services.survey_answer(token=services.survey_token(invitation), score=10)
    other = factories.survey(actor=agent, kind="nps", throttle_days=0)
    services.feedback_settings_save(actor=agent, survey_throttle_days=0)
    services.survey_send(survey=other, contacts=[factories.contact(owner=agent)], actor=agent)
    services.survey_answer(token=_token_from_mail(), score=0)  # no product
    report = selectors.score_report(group="product")
    assert report["nps"]["n"] == 2 and report["nps"]["nps"] == 0.0
    assert [(row["key"], row["n"], row["nps"]) for row in report["by"]] == [(str(product), 1, 100.0)]
    services.score_rollup_rebuild()
    assert selectors.score_report(group="product")["by"][0]["n"] == 1


def test_report_by_product_over_part_months_counts_each_answer_once(world: dict[str, Any]) -> None:
    """A range starting and ending mid-month is read from whole months of the monthly rollup plus the daily rows
    at its ends: every answer inside the range counts once, those outside do not; an answer given through the
    service afterwards is counted in both rollups at once."""
    from guanxi.feedback.models import ScoreMonthlyProduct

    agent = world["users"]["marketing"]
    survey = factories.survey(actor=agent, kind="nps", throttle_days=0)
    end = timezone.localtime().replace(day=15, hour=12)
    start = (end - timedelta(days=100)).replace(day=10)
    days = [start, start + timedelta(days=1), start + timedelta(days=30), end - timedelta(days=40), end]
    days += [end - timedelta(days=14), end + timedelta(days=1)]
    SurveyAnswer.objects.bulk_create(
        SurveyAnswer(survey=survey, kind="nps", score=10, product_id=7, created_at=when) for when in days
    )
    services.score_rollup_rebuild()
    assert ScoreMonthlyProduct.objects.filter(product_id=7).count() >= 4
    report = selectors.score_report(group="product", start=start, end=end)
    inside = sum(1 for when in days if start.date() < when.date() <= end.date())
    assert inside == 5 and [row["n"] for row in report["by"]] == [inside]
    services.feedback_settings_save(actor=agent, survey_throttle_days=0)
    invitation = services.survey_invite(
        survey=survey, contact=factories.contact(owner=agent), actor=agent, product_id=7
    )
    assert invitation is not None
    services.survey_answer(token=services.survey_token(invitation), score=0)
    month = timezone.localdate().replace(day=1)
    assert ScoreMonthlyProduct.objects.get(product_id=7, month=month, score=0).count == 1
