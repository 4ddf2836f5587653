"""Feedback reads: scoped items, the points ledger, and the report figures (CSAT, NPS with its confidence
interval, CES, topics, response and closure times, the closed-loop share)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from guanxi.core.models import Team, User
from guanxi.customers.models import Contact

from .models import (
    Channel,
    FeedbackIssue,
    FeedbackItem,
    PointsEntry,
    ScoreDaily,
    ScoreDailyProduct,
    ScoreMonthlyProduct,
    Survey,
    SurveyInvitation,
)
from .products import product_names


def feedback_visible_to(user: Any, action: str = "view") -> QuerySet[FeedbackItem]:
    """Feedback items in the user's scope."""
    return FeedbackItem.objects.visible_to(user, action).select_related("topic", "owner", "team", "contact")


def issues_visible_to(user: Any, action: str = "view") -> QuerySet[FeedbackIssue]:
    """Recurring issues: everyone with the permission sees them all (they are organisation-wide escalations)."""
    if not user.is_authenticated or not user.has_perm(f"feedback.{action}_feedbackissue"):
        return FeedbackIssue.objects.none()
    return (
        FeedbackIssue.objects.select_related("topic").annotate(item_count=Count("items")).order_by("-created_at", "-id")
    )


def points_ledger(contact: Contact) -> QuerySet[PointsEntry]:
    return PointsEntry.objects.filter(contact=contact).select_related("actor")


def points_balance(contact: Contact) -> int:
    return PointsEntry.objects.filter(contact=contact).aggregate(total=Sum("points"))["total"] or 0


def nps_figures(promoters: int, passives: int, detractors: int) -> dict[str, Any]:
    """NPS = %promoters − %detractors, with a 95 % confidence interval (normal approximation)."""
    n = promoters + passives + detractors
    if n == 0:
        return {"n": 0, "nps": None, "low": None, "high": None}
    p, d = promoters / n, detractors / n
    nps = p - d
    variance = p + d - nps**2
    half = 1.96 * math.sqrt(max(variance, 0) / n)
    return {
        "n": n,
        "nps": round(nps * 100, 1),
        "low": round(max(-1, nps - half) * 100, 1),
        "high": round(min(1, nps + half) * 100, 1),
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
    }


GROUPS = {"channel": "channel", "team": "team_id", "agent": "agent_id", "product": "product_id"}
SERIES_GROUPS = 6  # the groups with the most answers get a line in the "NPS over time" chart


def score_report(*, start: Any = None, end: Any = None, group: str = "") -> dict[str, Any]:
    """CSAT (share of 4–5 and mean), NPS with CI and CES mean: overall, per month, and per `group`
    (channel, team, agent or product), each group also month by month. Reads the daily rollup (`ScoreDaily`),
    one grouped query, not every answer."""
    end_day = timezone.localdate(end) if end else timezone.localdate()
    start_day = timezone.localdate(start) if start else end_day - timedelta(days=365)
    field = GROUPS.get(group, "")
    keys = ["kind", "score", "month", *([field] if field else [])]
    # by product: the groups come from the product rollups, the overall figures still from every answer
    overall = score_report(start=start, end=end) if group == "product" else None
    rows: Any = (
        _product_rows(start_day, end_day)
        if group == "product"
        else ScoreDaily.objects.filter(day__gt=start_day, day__lte=end_day)
        .annotate(month=TruncMonth("day"))
        .values(*keys)
        .annotate(n=Sum("count"))
        .order_by()
    )
    totals: dict[str, Counter[int]] = defaultdict(Counter)
    by_month: dict[str, dict[str, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))
    by_group: dict[Any, dict[str, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))
    group_month: dict[Any, dict[str, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))
    for row in rows:
        kind, score, n = row["kind"], row["score"], row["n"]
        month = row["month"].strftime("%Y-%m")
        totals[kind][score] += n
        by_month[month][kind][score] += n
        if field:
            by_group[row[field]][kind][score] += n
            if kind == "nps":
                group_month[row[field]][month][score] += n
    months = []
    for month, kinds in sorted(by_month.items()):
        entry: dict[str, Any] = {"month": month}
        if kinds.get("nps"):
            entry["nps"] = _nps(kinds["nps"])["nps"]
        if kinds.get("csat"):
            entry["csat"] = _csat(kinds["csat"])["score"]
        if kinds.get("ces"):
            entry["ces"] = _mean(kinds["ces"])
        months.append(entry)
    names = group_names(group, list(by_group))
    by = []
    for key, kinds in by_group.items():
        csat = _csat(kinds["csat"])
        by.append(
            {
                "key": names.get(key) or "—",
                **_nps(kinds["nps"]),
                "csat": csat["score"],
                "csat_n": csat["n"],
                "ces": _mean(kinds["ces"]),
                "ces_n": sum(kinds["ces"].values()),
                "answers": sum(sum(c.values()) for c in kinds.values()),
            }
        )
    by.sort(key=lambda r: (-r["answers"], str(r["key"])))
    if overall is not None:
        months = overall["months"]
    month_keys = [m["month"] for m in months]
    busiest = sorted(group_month, key=lambda k: -sum(sum(c.values()) for c in group_month[k].values()))
    series = [
        {
            "name": names.get(key) or "—",
            "data": [_nps(group_month[key][m])["nps"] if group_month[key].get(m) else None for m in month_keys],
        }
        for key in busiest[:SERIES_GROUPS]
    ]
    if overall is not None:
        return {**overall, "by": by, "series": series}
    return {
        "nps": _nps(totals["nps"]),
        "csat": _csat(totals["csat"]),
        "ces": {"n": sum(totals["ces"].values()), "mean": _mean(totals["ces"])},
        "months": months,
        "by": by,
        "series": series,
    }


def _product_rows(start_day: date, end_day: date) -> list[dict[str, Any]]:
    """Product score counts for the days after `start_day` up to `end_day`, by kind, score, month and product:
    the whole months from the monthly rollup, the part-months at either end from the daily one."""
    first, stop = start_day + timedelta(days=1), end_day + timedelta(days=1)  # the days [first, stop)
    whole_from = first if first.day == 1 else (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    whole_to = stop.replace(day=1)  # whole months are [whole_from, whole_to)
    keys = ["kind", "score", "month", "product_id"]
    daily = ScoreDailyProduct.objects.filter(day__gte=first, day__lt=stop)
    monthly: list[dict[str, Any]] = []
    if whole_from < whole_to:  # two day ranges (index ranges on PostgreSQL) around the whole months
        daily = ScoreDailyProduct.objects.filter(
            Q(day__gte=first, day__lt=whole_from) | Q(day__gte=whole_to, day__lt=stop)
        )
        monthly = list(
            ScoreMonthlyProduct.objects.filter(month__gte=whole_from, month__lt=whole_to)
            .values(*keys)
            .annotate(n=Sum("count"))
            .order_by()
        )
    parts = daily.annotate(month=TruncMonth("day")).values(*keys).annotate(n=Sum("count")).order_by()
    return monthly + list(parts)


def _nps(counts: Counter[int]) -> dict[str, Any]:
    promoters = sum(n for s, n in counts.items() if s >= 9)
    passives = sum(n for s, n in counts.items() if s in (7, 8))
    detractors = sum(n for s, n in counts.items() if s <= 6)
    return nps_figures(promoters, passives, detractors)


def _csat(counts: Counter[int]) -> dict[str, Any]:
    n = sum(counts.values())
    return {"n": n, "score": _share(sum(c for s, c in counts.items() if s >= 4), n), "mean": _mean(counts)}


def _mean(counts: Counter[int]) -> float | None:
    n = sum(counts.values())
    return round(sum(s * c for s, c in counts.items()) / n, 2) if n else None


def group_names(group: str, keys: list[Any]) -> dict[Any, str]:
    """Readable names of report groups: translated channel labels, team and agent names, product names."""
    if group == "channel":
        labels = dict(Channel.choices)
        return {key: str(labels.get(key, key)) for key in keys if key}
    if group == "team":
        return {t.pk: t.name for t in Team.objects.filter(pk__in=keys)}
    if group == "agent":
        return {u.pk: str(u) for u in User.objects.filter(pk__in=keys)}
    if group == "product":
        return product_names(keys)
    return {}


def _avg(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


ITEM_GROUPS = {"channel": "channel", "team": "team_id", "agent": "owner_id"}


def feedback_report(*, user: Any, start: Any = None, end: Any = None, group: str = "") -> dict[str, Any]:
    """Top topics and their monthly trend, time to first response and to closure, the closed-loop share;
    the times and the share also per channel, team or agent (`group`)."""
    end = end or timezone.now()
    start = start or end - timedelta(days=365)
    items = FeedbackItem.objects.visible_to(user).filter(created_at__gte=start, created_at__lt=end)
    top = list(items.values("topic__key", "topic__name", "topic__name_zh").annotate(n=Count("id")).order_by("-n")[:7])
    keys = [t["topic__key"] for t in top]
    trend: dict[str, dict[str, int]] = {}
    for row in (
        items.filter(topic__key__in=keys)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "topic__key")
        .annotate(n=Count("id"))
        .order_by("month")
    ):
        trend.setdefault(row["month"].strftime("%Y-%m"), {})[row["topic__key"]] = row["n"]
    first, closure = [], []
    field = ITEM_GROUPS.get(group, "")
    per: dict[Any, dict[str, list[float]]] = defaultdict(lambda: {"first": [], "closure": [], "all": []})
    for created, responded, closed, key in items.values_list(
        "created_at", "first_response_at", "closed_at", field or "id"
    ):
        bucket = per[key] if field else {"first": [], "closure": [], "all": []}
        bucket["all"].append(1)
        if responded:
            first.append((responded - created).total_seconds() / 3600)
            bucket["first"].append(first[-1])
        if closed:
            closure.append((closed - created).total_seconds() / 3600)
            bucket["closure"].append(closure[-1])
    names = group_names(group, list(per)) if field else {}
    by: list[dict[str, Any]] = [
        {
            "key": names.get(key) or "—",
            "items": len(b["all"]),
            "first_response_hours": _avg(b["first"]),
            "closure_hours": _avg(b["closure"]),
            "closed_loop_share": _share(len(b["closure"]), len(b["all"])),
        }
        for key, b in per.items()
    ]
    by.sort(key=lambda r: (-r["items"], str(r["key"])))
    total = items.count()
    closed_loop = items.filter(status=FeedbackItem.Status.CLOSED).count()
    return {
        "total": total,
        "top_topics": top,
        "trend": [{"month": m, **v} for m, v in sorted(trend.items())],
        "first_response_hours": _avg(first),
        "closure_hours": _avg(closure),
        "by": by,
        "closed_loop_share": _share(closed_loop, total),
        "satisfied_share": _share(
            items.filter(customer_satisfied=True).count(), items.filter(rated_at__isnull=False).count()
        ),
    }


def surveys_all() -> QuerySet[Survey]:
    return Survey.objects.annotate(
        sent=Count("invitations", distinct=True), answered=Count("answers", distinct=True)
    ).order_by("-created_at", "-id")


def feedback_of_customer(contact: Contact) -> QuerySet[FeedbackItem]:
    """The feedback one customer gave (for the customer's own portal: no staff scope applies)."""
    return FeedbackItem.objects.filter(contact=contact).select_related("topic").order_by("-created_at", "-id")


def surveys_pending_for(contact: Contact) -> QuerySet[SurveyInvitation]:
    """Invitations the customer has not answered yet, of active surveys, whose links still work."""
    from .services import LINK_MAX_AGE

    since = timezone.now() - timedelta(seconds=LINK_MAX_AGE)
    return (
        SurveyInvitation.objects.filter(
            contact=contact, answered_at__isnull=True, survey__active=True, created_at__gte=since
        )
        .select_related("survey")
        .order_by("-created_at", "-id")
    )
