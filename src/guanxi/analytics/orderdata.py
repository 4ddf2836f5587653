"""Orders and interactions as NumPy columns, keyed by customer, for the models to work on.

A customer key is an integer: `2·account_id` for an order with an account, else `2·contact_id + 1`.
Cancelled and refunded orders do not count; values are in CNY at the order's own rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
from django.db.models import Q
from django.utils import timezone
from numpy.typing import NDArray

from guanxi.customers.models import Interaction
from guanxi.sales.models import Order, OrderLine

COUNTED = Q(status__in=[Order.Status.PENDING, Order.Status.PAID, Order.Status.SHIPPED, Order.Status.COMPLETED])
DAY = 86400.0


def customer_key(account_id: int | None, contact_id: int | None) -> int:
    return 2 * account_id if account_id else 2 * int(contact_id or 0) + 1


def key_parts(key: int) -> tuple[int | None, int | None]:
    """(account_id, contact_id) of a customer key."""
    return (key // 2, None) if key % 2 == 0 else (None, key // 2)


def period_end(asof: date) -> datetime:
    """The moment a period ends: midnight after `asof`, local time."""
    return timezone.make_aware(datetime.combine(asof, time.min)) + timedelta(days=1)


@dataclass
class OrderColumns:
    """One row per counted order up to the period end, in time order."""

    order_id: NDArray[np.int64]
    key: NDArray[np.int64]
    day: NDArray[np.float64]  # days since the epoch (fractional)
    value: NDArray[np.float64]


def orders_until(end: datetime) -> OrderColumns:
    rows = list(
        Order.objects.filter(COUNTED, ordered_at__lt=end)
        .order_by("ordered_at", "id")
        .values_list("id", "account_id", "contact_id", "ordered_at", "gross_total", "rate_to_cny")
    )
    return OrderColumns(
        order_id=np.array([r[0] for r in rows], dtype=np.int64),
        key=np.array([customer_key(r[1], r[2]) for r in rows], dtype=np.int64),
        day=np.array([r[3].timestamp() / DAY for r in rows], dtype=np.float64),
        value=np.array([float(r[4] * r[5]) for r in rows], dtype=np.float64),
    )


def order_products(order_ids: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(order_id, product_id) pairs of the given orders' lines."""
    pairs = list(
        OrderLine.objects.filter(order_id__in=[int(i) for i in order_ids])
        .values_list("order_id", "product_id")
        .distinct()
    )
    return np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.int64)


def interactions_until(end: datetime) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """(customer key, day) of every interaction with an account or contact before `end` (tasks excluded)."""
    rows = list(
        Interaction.objects.filter(occurred_at__lt=end)
        .exclude(kind=Interaction.Kind.TASK)
        .filter(Q(account__isnull=False) | Q(contact__isnull=False))
        .values_list("account_id", "contact_id", "occurred_at")
    )
    return _keyed_days(rows)


def _keyed_days(
    rows: Sequence[tuple[int | None, int | None, datetime]],
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    keys = np.array([customer_key(r[0], r[1]) for r in rows], dtype=np.int64)
    days = np.array([r[2].timestamp() / DAY for r in rows], dtype=np.float64)
    return keys, days


def service_signals_until(end: datetime) -> dict[str, tuple[NDArray[np.int64], NDArray[np.float64]]]:
    """(customer key, day) of each ticket, complaint and unhappy survey answer before `end`, for churn features.

    An unhappy answer is an NPS score of 6 or less (a detractor) or a CSAT score of 2 or less.
    """
    from guanxi.feedback.models import FeedbackItem, Kind, SurveyAnswer
    from guanxi.service.models import Ticket

    with_customer = Q(account__isnull=False) | Q(contact__isnull=False)
    tickets = Ticket.objects.filter(with_customer, opened_at__lt=end).values_list(
        "account_id", "contact_id", "opened_at"
    )
    complaints = FeedbackItem.objects.filter(with_customer, kind=Kind.COMPLAINT, created_at__lt=end).values_list(
        "account_id", "contact_id", "created_at"
    )
    unhappy = (
        SurveyAnswer.objects.filter(contact__isnull=False, created_at__lt=end, score__isnull=False)
        .filter(Q(kind="nps", score__lte=6) | Q(kind="csat", score__lte=2))
        .values_list("contact_id", "created_at")
    )
    return {
        "tickets": _keyed_days(list(tickets)),
        "complaints": _keyed_days(list(complaints)),
        "unhappy_surveys": _keyed_days([(None, c, at) for c, at in unhappy]),
    }


@dataclass
class CustomerSummary:
    """Per customer (sorted keys): the figures RFM, CLV and churn start from, as of `now_day`."""

    keys: NDArray[np.int64]
    orders: NDArray[np.float64]
    revenue: NDArray[np.float64]
    first_day: NDArray[np.float64]
    last_day: NDArray[np.float64]
    frequency: NDArray[np.float64]  # repeat purchases (distinct order days after the first)
    recency: NDArray[np.float64]  # last − first purchase day, in days
    age: NDArray[np.float64]  # now − first purchase day, in days (T)
    repeat_value: NDArray[np.float64]  # mean value of the repeat orders (0 without any)


def summarise(cols: OrderColumns, now_day: float, *, since_day: float | None = None) -> CustomerSummary:
    """Summarise the orders before `now_day` (and, if given, on or after `since_day`) per customer."""
    keep = cols.day < now_day
    if since_day is not None:
        keep &= cols.day >= since_day
    key, day, value = cols.key[keep], cols.day[keep], cols.value[keep]
    keys, inverse = np.unique(key, return_inverse=True)
    n = keys.size
    orders = np.bincount(inverse, minlength=n).astype(np.float64)
    revenue = np.bincount(inverse, weights=value, minlength=n).astype(np.float64)
    first = np.full(n, np.inf)
    np.minimum.at(first, inverse, day)
    last = np.full(n, -np.inf)
    np.maximum.at(last, inverse, day)
    # repeat purchases count distinct calendar days, as BG/NBD expects
    whole = np.floor(day)
    pairs = np.unique(np.column_stack([inverse, whole]), axis=0)
    frequency = np.bincount(pairs[:, 0].astype(np.int64), minlength=n).astype(np.float64) - 1
    first_whole, last_whole = np.floor(first), np.floor(last)
    is_first = whole == first_whole[inverse]
    repeat_sum = np.bincount(inverse, weights=np.where(is_first, 0.0, value), minlength=n)
    repeat_n = np.bincount(inverse, weights=(~is_first).astype(np.float64), minlength=n)
    repeat_value = np.divide(repeat_sum, repeat_n, out=np.zeros(n), where=repeat_n > 0)
    return CustomerSummary(
        keys=keys,
        orders=orders,
        revenue=revenue,
        first_day=first,
        last_day=last,
        frequency=frequency,
        recency=last_whole - first_whole,
        age=np.floor(now_day) - first_whole,
        repeat_value=repeat_value,
    )
