"""RFM: recency, frequency and monetary quintile scores 1–5 and the named segments they fall into."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata

from .models import Segment


def quintile_scores(values: ArrayLike, *, higher_is_better: bool = True) -> NDArray[np.int64]:
    """Score 1–5 by quantile of rank; ties share a score, so equal customers are never split."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return np.zeros(0, dtype=np.int64)
    ranks = rankdata(v if higher_is_better else -v, method="average")
    return np.clip(np.ceil(ranks / v.size * 5), 1, 5).astype(np.int64)


def segment_of(r: int, f: int) -> Segment:
    """The segment of an R score and a combined F/M score (the common 5×5 grid)."""
    if r >= 5 and f >= 4:
        return Segment.CHAMPIONS
    if r >= 3 and f >= 4:
        return Segment.LOYAL
    if r >= 4 and f >= 2:
        return Segment.POTENTIAL
    if r == 5:
        return Segment.NEW
    if r == 4:
        return Segment.PROMISING
    if r == 3 and f == 3:
        return Segment.NEED_ATTENTION
    if r == 3:
        return Segment.ABOUT_TO_SLEEP
    if f == 5:
        return Segment.CANT_LOSE
    if f >= 3:
        return Segment.AT_RISK
    if r == 1 and f == 1:
        return Segment.LOST
    return Segment.HIBERNATING


def rfm_scores(
    recency_days: ArrayLike, orders: ArrayLike, revenue: ArrayLike
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], list[Segment]]:
    """R, F and M scores and the segment of each customer."""
    r = quintile_scores(recency_days, higher_is_better=False)
    f = quintile_scores(orders)
    m = quintile_scores(revenue)
    fm = np.floor((f + m) / 2 + 0.5).astype(np.int64)
    return r, f, m, [segment_of(int(a), int(b)) for a, b in zip(r, fm, strict=True)]
