"""Feedback reads: scoped items, the points ledger, and the report figures (CSAT, NPS with its confidence
interval, CES, topics, response and closure times, the closed-loop share)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from guanxi.core.models import Team, User
from guanxi.customers.models import Contact

from .models import FeedbackIssue, FeedbackItem, PointsEntry, ScoreDaily, Survey, SurveyInvitation


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


def score_report(*, start: Any = None, end: Any = None, group: str = "") -> dict[str, Any]:
    """CSAT (share of 4–5 and mean), NPS with CI and CES mean: overall, per month, and per `group`
    (channel, team or agent). Reads the daily rollup (`ScoreDaily`), one grouped query, not every answer."""
    end_day = timezone.localdate(end) if end else timezone.localdate()
    start_day = timezone.localdate(start) if start else end_day - timedelta(days=365)
    field = {"channel": "channel", "team": "team_id", "agent": "agent_id"}.get(group, "")
    keys = ["kind", "score", "month", *([field] if field else [])]
    rows = (
        ScoreDaily.objects.filter(day__gt=start_day, day__lte=end_day)
        .annotate(month=TruncMonth("day"))
        .values(*keys)
        .annotate(n=Sum("count"))
        .order_by()
    )
    totals: dict[str, Counter[int]] = defaultdict(Counter)
    by_month: dict[str, dict[str, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))
    by_group: dict[Any, Counter[int]] = defaultdict(Counter)
    for row in rows:
        kind, score, n = row["kind"], row["score"], row["n"]
        totals[kind][score] += n
        by_month[row["month"].strftime("%Y-%m")][kind][score] += n
        if field and kind == "nps":
            by_group[row[field]][score] += n
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
    names = _group_names(group, list(by_group))
    by = [{"key": names.get(key, key) or "—", **_nps(counts)} for key, counts in by_group.items()]
    by.sort(key=lambda r: str(r["key"]))
    return {
        "nps": _nps(totals["nps"]),
        "csat": _csat(totals["csat"]),
        "ces": {"n": sum(totals["ces"].values()), "mean": _mean(totals["ces"])},
        "months": months,
        "by": by,
    }


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


def _group_names(group: str, keys: list[Any]) -> dict[Any, str]:
    if group == "team":
        return {t.pk: t.name for t in Team.objects.filter(pk__in=keys)}
    if group == "agent":
        return {u.pk: str(u) for u in User.objects.filter(pk__in=keys)}
    return {}


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def feedback_report(*, user: Any, start: Any = None, end: Any = None) -> dict[str, Any]:
    """Top topics and their monthly trend, time to first response and to closure, the closed-loop share."""
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
    for created, responded, closed in items.values_list("created_at", "first_response_at", "closed_at"):
        if responded:
            first.append((responded - created).total_seconds() / 3600)
        if closed:
            closure.append((closed - created).total_seconds() / 3600)
    total = items.count()
    closed_loop = items.filter(status=FeedbackItem.Status.CLOSED).count()
    return {
        "total": total,
        "top_topics": top,
        "trend": [{"month": m, **v} for m, v in sorted(trend.items())],
        "first_response_hours": round(sum(first) / len(first), 1) if first else None,
        "closure_hours": round(sum(closure) / len(closure), 1) if closure else None,
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
