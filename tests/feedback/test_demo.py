"""The feedback demo loader: a year of bilingual feedback and survey answers, loaded once."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from guanxi.feedback import selectors
from guanxi.feedback.models import FeedbackItem, SurveyAnswer

pytestmark = pytest.mark.django_db


def test_demo_loads_feedback_and_answers_once() -> None:
    """Items in both languages with closed loops, answers of all three kinds, and a second run adds nothing."""
    call_command("demo", customers=60, seed=3, users=12)
    items, answers = FeedbackItem.objects.count(), SurveyAnswer.objects.count()
    assert items >= 10 and answers == 60
    assert (
        FeedbackItem.objects.filter(language="en").exists() and FeedbackItem.objects.filter(language="zh-hans").exists()
    )
    assert FeedbackItem.objects.filter(status="closed").exists()
    assert set(SurveyAnswer.objects.values_list("kind", flat=True)) == {"nps", "csat", "ces"}
    assert selectors.score_report()["nps"]["n"] > 0
    call_command("demo", customers=60, seed=3, users=12)
    assert FeedbackItem.objects.count() == items and SurveyAnswer.objects.count() == answers
