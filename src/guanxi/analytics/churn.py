"""Churn risk: will a customer who has bought before place no order in the next `horizon` days?

Features are computed at a cut-off from what happened before it; the label is whether any order
followed within the horizon. The model is trained on the window ending one horizon before the
held-out one (a time-based split), judged on the held-out window against a recency-only baseline,
then used to score every customer now. Other apps add features (tickets, feedback) with
`@churn_feature`, reading through their own selectors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import SplineTransformer, StandardScaler

from .orderdata import CustomerSummary, OrderColumns, summarise

Array = NDArray[np.float64]
# (customer keys, cut-off day) → one value per key; extra data (interactions …) comes through `context`
FeatureFunction = Callable[[NDArray[np.int64], float, dict[str, Any]], Array]


@dataclass(frozen=True)
class Feature:
    code: str
    label: Any  # lazy translated text, shown as a churn reason
    fn: FeatureFunction


_features: dict[str, Feature] = {}


def churn_feature(code: str, label: Any) -> Callable[[FeatureFunction], FeatureFunction]:
    """Register an extra churn feature (another app's tickets, complaints, survey scores …)."""

    def register(fn: FeatureFunction) -> FeatureFunction:
        _features[code] = Feature(code, label, fn)
        return fn

    return register


def extra_features() -> list[Feature]:
    return list(_features.values())


def _window_orders(summary: CustomerSummary, cols: OrderColumns, start: float, end: float) -> Array:
    """Orders each customer placed in [start, end)."""
    part = summarise(cols, end, since_day=start)
    out = np.zeros(summary.keys.size)
    out[np.searchsorted(summary.keys, part.keys)] = part.orders
    return out


def order_features(summary: CustomerSummary, cols: OrderColumns, cutoff: float) -> dict[str, Array]:
    """Features every customer with orders has, computed from orders before `cutoff`.

    Besides recency itself, what predicts lapsing is recency measured against the customer's own rhythm
    (a monthly buyer silent for 60 days is more worrying than a yearly one) and a falling order rate.
    """
    recent = _window_orders(summary, cols, cutoff - 90, cutoff)
    before = _window_orders(summary, cols, cutoff - 180, cutoff - 90)
    recency = cutoff - summary.last_day
    tenure = cutoff - summary.first_day
    # mean days between orders; a one-order customer's rhythm is unknown, so their whole tenure stands in
    rhythm = np.where(
        summary.orders > 1, (summary.last_day - summary.first_day) / np.maximum(summary.orders - 1, 1), tenure
    )
    return {
        "recency": recency,
        "overdue": np.log1p(recency / np.maximum(rhythm, 1.0)),
        "orders": np.log1p(summary.orders),
        "revenue": np.log1p(summary.revenue),
        "tenure": tenure,
        "gap": rhythm,
        "orders_90d": recent,
        "order_trend": recent - before,
    }


def feature_matrix(
    cols: OrderColumns, cutoff: float, context: dict[str, Any]
) -> tuple[CustomerSummary, list[str], Array]:
    summary = summarise(cols, cutoff)
    features = order_features(summary, cols, cutoff)
    for feature in extra_features():
        features[feature.code] = np.asarray(feature.fn(summary.keys, cutoff, context), dtype=np.float64)
    names = list(features)
    matrix = np.column_stack([features[n] for n in names]) if names else np.zeros((summary.keys.size, 0))
    return summary, names, matrix


def churned(cols: OrderColumns, keys: NDArray[np.int64], start: float, end: float) -> NDArray[np.int64]:
    """1 for each customer with no order in [start, end), else 0."""
    window = (cols.day >= start) & (cols.day < end)
    active = np.isin(keys, cols.key[window])
    return (~active).astype(np.int64)


@dataclass
class ChurnResult:
    keys: NDArray[np.int64]
    risk: Array
    factors: list[list[dict[str, Any]]]
    metrics: dict[str, Any]


def _model() -> Any:
    """The risk model: a logistic regression on spline bases of the features (an additive model), so the
    risk can bend with recency (it rises fast at first, then flattens) instead of growing in a straight line."""
    return make_pipeline(
        StandardScaler(),
        SplineTransformer(n_knots=6, degree=3, knots="quantile", extrapolation="constant"),
        LogisticRegression(max_iter=2000, C=1.0),
    )


def _explainer() -> Any:
    """A linear model on the same features, read for the per-customer reasons (coefficient × value)."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def calibration_table(y: NDArray[np.int64], p: Array, bins: int = 5) -> list[dict[str, float]]:
    """Mean predicted vs observed churn in equal-count bins of the predictions (the reliability diagram)."""
    order = np.argsort(p)
    table = []
    for part in np.array_split(order, bins):
        if part.size:
            table.append({"predicted": round(float(p[part].mean()), 4), "observed": round(float(y[part].mean()), 4)})
    return table


def churn_fit_and_score(
    cols: OrderColumns, now: float, *, horizon: float = 90.0, context: dict[str, Any] | None = None
) -> ChurnResult | None:
    """Train on one window, evaluate on the next (held out), score everyone now; None without enough data."""
    context = context or {}
    test_cut, train_cut = now - horizon, now - 2 * horizon
    _s_train, names, x_train = feature_matrix(cols, train_cut, context)
    y_train = churned(cols, _s_train.keys, train_cut, test_cut)
    s_test, _names, x_test = feature_matrix(cols, test_cut, context)
    y_test = churned(cols, s_test.keys, test_cut, now)
    if min(np.bincount(y_train, minlength=2)) < 5 or min(np.bincount(y_test, minlength=2)) < 2:
        return None
    calibrated = CalibratedClassifierCV(_model(), method="sigmoid", cv=3).fit(x_train, y_train)
    p_test = calibrated.predict_proba(x_test)[:, 1]
    recency = x_test[:, names.index("recency")]
    metrics = {
        "auc": round(float(roc_auc_score(y_test, p_test)), 4),
        "auc_recency_baseline": round(float(roc_auc_score(y_test, recency)), 4),
        "brier": round(float(brier_score_loss(y_test, p_test)), 4),
        "calibration": calibration_table(y_test, p_test),
        "train_customers": int(y_train.size),
        "test_customers": int(y_test.size),
        "test_churn_rate": round(float(y_test.mean()), 4),
        "horizon_days": horizon,
    }
    # the production model learns from the most recent complete window, then scores everyone now
    final = CalibratedClassifierCV(_model(), method="sigmoid", cv=3).fit(x_test, y_test)
    explain = _explainer().fit(x_test, y_test)
    s_now, _n, x_now = feature_matrix(cols, now, context)
    risk = final.predict_proba(x_now)[:, 1]
    scaler, logistic = explain[0], explain[1]
    contributions = scaler.transform(x_now) * logistic.coef_[0]
    factors = []
    for row, values in zip(contributions, x_now, strict=True):
        top = np.argsort(-row)[:3]
        factors.append(
            [
                {"feature": names[i], "weight": round(float(row[i]), 3), "value": _shown(names[i], values[i])}
                for i in top
                if row[i] > 0
            ]
        )
    metrics["coefficients"] = {n: round(float(c), 4) for n, c in zip(names, logistic.coef_[0], strict=True)}
    return ChurnResult(keys=s_now.keys, risk=risk, factors=factors, metrics=metrics)


def _shown(name: str, value: float) -> float:
    """A feature's value as a person reads it (orders and revenue are modelled on a log scale)."""
    return round(float(np.expm1(value) if name in LOG_FEATURES else value), 2)


LOG_FEATURES = {"orders", "revenue", "overdue"}


def feature_labels() -> dict[str, Any]:
    from django.utils.translation import gettext_lazy as _

    labels: dict[str, Any] = {
        "recency": _("Days since the last order"),
        "orders": _("Number of orders"),
        "revenue": _("Total spent"),
        "tenure": _("Days since the first order"),
        "gap": _("Days between orders"),
        "overdue": _("Days since the last order ÷ usual days between orders"),
        "orders_90d": _("Orders in the last 90 days"),
        "order_trend": _("Orders in the last 90 days minus the 90 days before"),
    }
    labels |= {f.code: f.label for f in extra_features()}
    return labels
