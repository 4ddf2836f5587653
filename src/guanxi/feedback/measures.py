"""CSAT, NPS and CES in the analytics KPI engine: each defined once here, registered from the app's `ready()`.

Every formula reads the daily score rollups (`ScoreDaily`, `ScoreDailyProduct`) for one month and returns
(dimension, numerator, denominator) rows for everyone (""), per channel ("channel:email"), team ("team:<id>"),
agent ("owner:<id>", the engine's name for the person answerable) and product ("product:<id>"). Numerators and
denominators add up across dimensions, so a manager's figure over several teams is exact. The figures are
recomputed whenever a survey event (sent, answered) arrives on the event spine, through the engine's
`kpis_on_event`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

Row = tuple[str, float, float]
SOURCES = ["feedback.survey"]  # survey_answer records "answered" on the survey


def _rows(kind: str, start: datetime, end: datetime, numerator: Callable[[int, int], float]) -> list[Row]:
    from .models import ScoreDaily, ScoreDailyProduct

    first, last = timezone.localtime(start).date(), timezone.localtime(end).date()
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])

    def add(dims: list[str], score: int, count: int) -> None:
        for dim in dims:
            sums[dim][0] += numerator(score, count)
            sums[dim][1] += count

    days = {"kind": kind, "day__gte": first, "day__lt": last}
    for score, channel, team, agent, count in ScoreDaily.objects.filter(**days).values_list(
        "score", "channel", "team_id", "agent_id", "count"
    ):
        dims = [""]
        if channel:
            dims.append(f"channel:{channel}")
        if team:
            dims.append(f"team:{team}")
        if agent:
            dims.append(f"owner:{agent}")
        add(dims, score, count)
    for score, product, count in ScoreDailyProduct.objects.filter(**days).values_list("score", "product_id", "count"):
        add([f"product:{product}"], score, count)
    sums.setdefault("", [0.0, 0.0])
    return [(dim, n, d) for dim, (n, d) in sums.items()]


def csat_formula(start: datetime, end: datetime) -> list[Row]:
    """Answers of 4 or 5 out of 5 ÷ CSAT answers."""
    return _rows("csat", start, end, lambda score, n: float(n) if score >= 4 else 0.0)


def nps_formula(start: datetime, end: datetime) -> list[Row]:
    """100 × (promoters − detractors) ÷ NPS answers: the NPS on its −100 … 100 scale."""
    return _rows("nps", start, end, lambda score, n: 100.0 * n if score >= 9 else (-100.0 * n if score <= 6 else 0.0))


def ces_formula(start: datetime, end: datetime) -> list[Row]:
    """The sum of CES scores ÷ CES answers: the mean effort score (7 = very easy)."""
    return _rows("ces", start, end, lambda score, n: float(score * n))


def register_kpis() -> None:
    """Register CSAT, NPS and CES with the analytics KPI engine (only when the analytics app is installed)."""
    from django.apps import apps

    if not apps.is_installed("guanxi.analytics"):
        return
    from guanxi.analytics.kpis import kpi

    dimensions: tuple[str, ...] = ("channel", "team", "owner", "product")
    extra: dict[str, Any] = {"app": "feedback"}
    kpi(
        code="csat",
        label=_("CSAT"),
        unit="%",
        formula=csat_formula,
        sources=SOURCES,
        dimensions=dimensions,
        extra=extra,
        help=_("Share of CSAT answers scoring 4 or 5 (of 5) in the month."),
    )
    kpi(
        code="nps",
        label=_("NPS"),
        unit="score",
        formula=nps_formula,
        sources=SOURCES,
        dimensions=dimensions,
        extra=extra,
        help=_("Net Promoter Score: % promoters (9–10) − % detractors (0–6) among the month's NPS answers."),
    )
    kpi(
        code="ces",
        label=_("CES"),
        unit="score",
        formula=ces_formula,
        sources=SOURCES,
        dimensions=dimensions,
        extra=extra,
        help=_("Customer effort score: mean answer from 1 (very hard) to 7 (very easy) in the month."),
    )
