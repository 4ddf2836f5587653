"""Retraining the organisation's classifier from staff corrections, as a job with progress."""

from __future__ import annotations

import random
from typing import Any

from django.utils import timezone

from guanxi.core.jobs import Progress, job_kind
from guanxi.core.models import Job

from . import classifier, seed_topics
from .models import ClassifierVersion, FeedbackItem

MIN_HELD_OUT = 10  # fewer corrected items than this: evaluate on the shipped held-out set instead


def _split(rows: list[tuple[str, str]], share: float = 0.25) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    rows = list(rows)
    random.Random(11).shuffle(rows)
    cut = int(len(rows) * share)
    return rows[cut:], rows[:cut]


def classifier_retrain(*, target: str) -> ClassifierVersion:
    """Train `target` ("topic" or "sentiment") on the starting data + staff corrections; score held-out items."""
    corrected = FeedbackItem.objects.filter(corrected_at__isnull=False).select_related("topic")
    if target == "topic":
        rows = [(i.text, i.topic.key) for i in corrected if i.topic]
        base_x, base_y = classifier.topic_training_set()
        fallback = [(text, topic) for topic, _s, text in seed_topics.held_out()]
    else:
        rows = [(i.text, i.sentiment) for i in corrected if i.sentiment]
        base_x, base_y = classifier.sentiment_training_set()
        fallback = [(text, s) for _t, s, text in seed_topics.held_out()]
    train_rows, test_rows = _split(rows)
    if len(test_rows) < MIN_HELD_OUT:
        train_rows, test_rows = rows, fallback
    weight = 3  # an organisation's own labels count more than the starting data
    texts = base_x + [t for t, _ in train_rows] * weight
    labels = base_y + [y for _, y in train_rows] * weight
    model = classifier.train(texts, labels)
    predicted = [
        classifier.sentiment_of(dict(zip(model.classes_, p, strict=True)))[0] if target == "sentiment" else str(p)
        for p in (
            model.predict_proba([t for t, _ in test_rows])
            if target == "sentiment"
            else model.predict([t for t, _ in test_rows])
        )
    ]
    figures = classifier.scores([y for _, y in test_rows], predicted)
    import joblib

    name = f"{target}-org-{timezone.now():%Y%m%d%H%M%S%f}.joblib"
    joblib.dump(model, classifier.model_dir() / name)
    version = ClassifierVersion.objects.create(
        target=target,
        trained_on=len(train_rows),
        held_out=len(test_rows),
        accuracy=figures["accuracy"],
        macro_f1=figures["macro_f1"],
        file_name=name,
    )
    classifier.cache_forget()
    return version


@job_kind("feedback.retrain", "Retrain the feedback classifier", permission="feedback.change_feedbacksettings")
def retrain_job(job: Job, progress: Progress) -> dict[str, Any]:
    result = {}
    for n, target in enumerate(("topic", "sentiment")):
        progress(n, 2, target)
        version = classifier_retrain(target=target)
        result[target] = {
            "trained_on": version.trained_on,
            "held_out": version.held_out,
            "accuracy": round(version.accuracy or 0, 3),
            "macro_f1": round(version.macro_f1 or 0, 3),
        }
    progress(2, 2, "")
    return result
