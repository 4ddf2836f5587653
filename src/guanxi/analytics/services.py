"""Analytics writes: the nightly scoring (RFM, CLV, churn, recommendations) and acquisition spend."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.events import record_event
from guanxi.customers.models import Interaction, Lead
from guanxi.customers.services import interaction_log

from . import clv, recommend
from .churn import churn_feature, churn_fit_and_score
from .models import AcquisitionSpend, CustomerScore, DashboardSubscription, ModelRun
from .orderdata import (
    DAY,
    interactions_until,
    key_parts,
    order_products,
    orders_until,
    period_end,
    service_signals_until,
    summarise,
)
from .rfm import rfm_scores

log = logging.getLogger(__name__)
CLV_MONTHS = 12


def _recent_count(keys: Any, cutoff: float, pairs: Any, days: float = 90) -> Any:
    """How many of the (customer key, day) pairs fall in the `days` before `cutoff`, per key."""
    p_keys, p_days = pairs if pairs is not None else (np.zeros(0, np.int64), np.zeros(0))
    window = (p_days < cutoff) & (p_days >= cutoff - days)
    found, counts = np.unique(p_keys[window], return_counts=True)
    out = np.zeros(keys.size)
    pos = np.searchsorted(found, keys)
    hit = (pos < found.size) & (found[np.minimum(pos, max(found.size - 1, 0))] == keys) if found.size else pos < 0
    out[hit] = counts[pos[hit]]
    return out


@churn_feature("interactions_90d", gettext_lazy("Contacts with us in the last 90 days"))
def _interactions_recent(keys: Any, cutoff: float, context: dict[str, Any]) -> Any:
    return _recent_count(keys, cutoff, context.get("interactions"))


@churn_feature("tickets_90d", gettext_lazy("Service tickets in the last 90 days"))
def _tickets_recent(keys: Any, cutoff: float, context: dict[str, Any]) -> Any:
    return _recent_count(keys, cutoff, context.get("tickets"))


@churn_feature("complaints_180d", gettext_lazy("Complaints in the last 180 days"))
def _complaints_recent(keys: Any, cutoff: float, context: dict[str, Any]) -> Any:
    return _recent_count(keys, cutoff, context.get("complaints"), days=180)


@churn_feature("unhappy_surveys_180d", gettext_lazy("Low survey scores (NPS detractor, low CSAT) in the last 180 days"))
def _unhappy_recent(keys: Any, cutoff: float, context: dict[str, Any]) -> Any:
    return _recent_count(keys, cutoff, context.get("unhappy_surveys"), days=180)


def _clv(summary: Any) -> tuple[Any, Any, Any, dict[str, Any]]:
    """Expected purchases, P(alive) and 12-month value per customer; Nones when the models cannot be fitted."""
    try:
        with np.errstate(all="ignore"):
            bg = clv.bgnbd_fit(summary.frequency, summary.recency, summary.age)
            gg = clv.gamma_gamma_fit(summary.frequency, summary.repeat_value)
            expected = clv.bgnbd_expected_purchases(
                bg, 30.0 * CLV_MONTHS, summary.frequency, summary.recency, summary.age
            )
            alive = clv.bgnbd_probability_alive(bg, summary.frequency, summary.recency, summary.age)
            value = clv.customer_lifetime_value(
                bg, gg, summary.frequency, summary.recency, summary.age, summary.repeat_value, months=CLV_MONTHS
            )
    except ValueError as exc:
        return None, None, None, {"clv_skipped": str(exc)}
    if not (np.all(np.isfinite(expected)) and np.all(np.isfinite(value))):
        return None, None, None, {"clv_skipped": "not finite"}
    params = {"bgnbd": bg.__dict__, "gamma_gamma": gg.__dict__, "unit": "day"}
    return expected, alive, value, params


def _recommendations(cols: Any) -> tuple[dict[int, list[int]], dict[str, Any]]:
    order_ids, products = order_products(cols.order_id)
    if order_ids.size == 0:
        return {}, {}
    index = {int(o): i for i, o in enumerate(cols.order_id)}
    line_order = np.array([index[int(o)] for o in order_ids], dtype=np.int64)
    b = recommend.baskets(cols.key[line_order], products)
    recs = recommend.recommend(b, recommend.cooccurrence(b))
    # each customer's orders counted back from the last one (orders are in time order)
    rank = np.zeros(cols.key.size, dtype=np.int64)
    seen: dict[int, int] = {}
    for i in range(cols.key.size - 1, -1, -1):
        k = int(cols.key[i])
        rank[i] = seen.get(k, 0)
        seen[k] = rank[i] + 1
    metrics = recommend.hit_rate_last_order(cols.key, rank, line_order, products)
    return {int(c): r for c, r in zip(b.customers, recs, strict=True)}, {"recommendations": metrics}


def scores_refresh(*, asof: date, actor: Any, progress: Any = None) -> ModelRun:
    """Score every customer with orders as of `asof`: RFM, CLV, churn risk, suggested products.

    Replaces that period's scores in one transaction and records the run (parameters, held-out metrics).
    """
    end = period_end(asof)
    now_day = end.timestamp() / DAY
    cols = orders_until(end)
    summary = summarise(cols, now_day)
    n = summary.keys.size
    if progress:
        progress(1, 5, _("Orders read"))
    recency_days = np.floor(now_day - summary.last_day)
    r, f, m, segments = rfm_scores(recency_days, summary.orders, summary.revenue)
    expected, alive, value, params = _clv(summary) if n else (None, None, None, {})
    if progress:
        progress(2, 5, _("Lifetime value fitted"))
    context = {"interactions": interactions_until(end), **service_signals_until(end)} if n else {}
    churn = churn_fit_and_score(cols, now_day, context=context) if n else None
    metrics: dict[str, Any] = {}
    risk: dict[int, tuple[float, list[dict[str, Any]]]] = {}
    if churn is not None:
        metrics["churn"] = churn.metrics
        risk = {int(k): (float(p), fx) for k, p, fx in zip(churn.keys, churn.risk, churn.factors, strict=True)}
    if progress:
        progress(3, 5, _("Churn model trained"))
    recs, rec_metrics = _recommendations(cols) if n else ({}, {})
    metrics |= rec_metrics
    if progress:
        progress(4, 5, _("Recommendations computed"))
    rows = []
    for i, key in enumerate(summary.keys.tolist()):
        account_id, contact_id = key_parts(key)
        p_risk, factors = risk.get(key, (None, []))
        rows.append(
            CustomerScore(
                period=asof,
                account_id=account_id,
                contact_id=contact_id,
                orders=int(summary.orders[i]),
                revenue=Decimal(str(round(float(summary.revenue[i]), 2))),
                first_order_at=datetime.fromtimestamp(summary.first_day[i] * DAY, tz=UTC),
                last_order_at=datetime.fromtimestamp(summary.last_day[i] * DAY, tz=UTC),
                recency_days=int(recency_days[i]),
                r_score=int(r[i]),
                f_score=int(f[i]),
                m_score=int(m[i]),
                segment=segments[i],
                expected_purchases=None if expected is None else round(float(expected[i]), 4),
                probability_alive=None if alive is None else round(float(alive[i]), 4),
                clv=None if value is None else Decimal(str(round(float(value[i]), 2))),
                churn_risk=p_risk,
                churn_factors=factors,
                recommended=recs.get(key, []),
            )
        )
    with transaction.atomic():
        CustomerScore.objects.filter(period=asof).delete()
        CustomerScore.objects.bulk_create(rows, batch_size=2000)
        run = ModelRun.objects.create(period=asof, params=params, metrics=metrics, customers=n)
        record_event(obj=run, action="created", actor=actor, data={"customers": n, "period": asof.isoformat()})
    if progress:
        progress(5, 5, _("Scores saved"))
    return run


def _month(value: Any) -> date:
    if isinstance(value, date):
        return value.replace(day=1)
    try:
        return date.fromisoformat(f"{str(value).strip()[:7]}-01")
    except ValueError as exc:
        raise ValidationError({"month": _("Enter a month as YYYY-MM.")}) from exc


@transaction.atomic
def acquisition_spend_set(*, actor: Any, channel: str, month: Any, amount: Any, note: str = "") -> AcquisitionSpend:
    """Enter (or correct) what a channel cost in a month; CAC for that month is recomputed from it."""
    errors: dict[str, str] = {}
    if channel not in Lead.Source.values:
        errors["channel"] = _("Choose a channel from the list.")
    try:
        month_start = _month(month)
    except ValidationError:
        errors["month"] = _("Enter a month as YYYY-MM.")
    try:
        value = Decimal(str(amount).replace(",", "").strip())
        if value < 0 or not value.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["amount"] = _("Enter an amount of zero or more.")
    if errors:
        raise ValidationError(errors)
    spend, created = AcquisitionSpend.objects.select_for_update().get_or_create(
        channel=channel, month=month_start, defaults={"amount": value, "note": note[:200], "updated_by": actor}
    )
    before = spend.amount
    if not created:
        spend.amount, spend.note, spend.updated_by = value, note[:200], actor
        spend.save(update_fields=["amount", "note", "updated_by", "updated_at"])
    record_event(
        obj=spend,
        action="created" if created else "updated",
        actor=actor,
        changes={} if created else {"amount": [str(before), str(value)]},
    )
    return spend


def followup_task_create(*, score: CustomerScore, actor: Any, subject: str) -> Interaction:
    """A follow-up task on a high-value or at-risk customer, due in three days, for the one who asks.

    Goes through customers' own service, which writes the task and its event.
    """
    return interaction_log(
        actor=actor,
        about=score.customer,
        kind=Interaction.Kind.TASK,
        subject=subject,
        assignee=actor,
        due_at=timezone.now() + timedelta(days=3),
    )


@transaction.atomic
def dashboard_subscription_toggle(*, user: Any, role: str) -> DashboardSubscription | None:
    """Start (or stop) the weekly email of a dashboard for this user; returns the subscription or None."""
    if role not in DashboardSubscription.Role.values:
        raise ValidationError({"role": _("Choose a dashboard from the list.")})
    existing = DashboardSubscription.objects.select_for_update().filter(user=user, role=role).first()
    if existing is not None:
        record_event(obj=existing, action="deleted", actor=user, data={"role": role})
        existing.delete()
        return None
    sub = DashboardSubscription.objects.create(user=user, role=role)
    record_event(obj=sub, action="created", actor=user, data={"role": role})
    return sub


def dashboard_emails_send(*, now: datetime | None = None) -> int:
    """Email each subscriber their dashboard's numbers for last month, once a week; returns emails sent.

    The numbers are the user's own view (`kpi_series` scoped to them), in their language.
    """
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.utils import translation

    from . import selectors
    from .kpis import month_start

    now = now or timezone.now()
    due = DashboardSubscription.objects.select_related("user").filter(user__is_active=True)
    sent = 0
    for sub in due.exclude(last_sent_at__gt=now - timedelta(days=6)):
        user = sub.user
        month = month_start(month_start(timezone.localdate(now)) - timedelta(days=1))
        with translation.override(user.language or None):
            codes = [c for c in selectors.ROLE_KPIS[sub.role] if c in selectors.kpi_codes_for(user)]
            scope = "mine" if sub.role == DashboardSubscription.Role.MINE else ""
            figures = [selectors.kpi_series(user=user, code=c, months=[month], scope=scope)[0] for c in codes]
            body = render_to_string("analytics/dashboard_email.txt", {"figures": figures, "month": month, "sub": sub})
            subject = _("Guanxi dashboard for %(month)s") % {"month": month.strftime("%Y-%m")}
        send_mail(subject, body, None, [user.email])
        DashboardSubscription.objects.filter(pk=sub.pk).update(last_sent_at=now)
        sent += 1
    return sent
