"""Feedback reads: scoped items, the points ledger, and the report figures (CSAT, NPS with its confidence
interval, CES, topics, response and closure times, the closed-loop share)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from guanxi.customers.models import Contact

from .models import FeedbackIssue, FeedbackItem, PointsEntry, Survey, SurveyAnswer


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


def _answers(start: Any, end: Any) -> QuerySet[SurveyAnswer]:
    return SurveyAnswer.objects.filter(created_at__gte=start, created_at__lt=end)


def score_report(*, start: Any = None, end: Any = None, group: str = "") -> dict[str, Any]:
    """CSAT (share of 4–5 and mean), NPS with CI and CES mean: overall, per month, and per `group`
    (channel, team or agent) — a handful of aggregate queries on the (kind, created_at, score) index."""
    end = end or timezone.now()
    start = start or end - timedelta(days=365)
    rows: Any = _answers(start, end)  # typed loosely: annotate(**counts) rows are plain dicts
    nps_counts = {
        "promoters": Count("id", filter=Q(score__gte=9)),
        "passives": Count("id", filter=Q(score__in=[7, 8])),
        "detractors": Count("id", filter=Q(score__lte=6)),
    }
    csat_counts = {"n": Count("id"), "satisfied": Count("id", filter=Q(score__gte=4)), "mean": Avg("score")}
    nps_total = rows.filter(kind="nps").aggregate(**nps_counts)
    csat_total = rows.filter(kind="csat").aggregate(**csat_counts)
    ces_total = rows.filter(kind="ces").aggregate(n=Count("id"), mean=Avg("score"))
    months: dict[str, dict[str, Any]] = {}
    for row in (
        rows.filter(kind="nps")
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(**nps_counts)
        .order_by("month")
    ):
        months.setdefault(row["month"].strftime("%Y-%m"), {})["nps"] = nps_figures(
            row["promoters"], row["passives"], row["detractors"]
        )["nps"]
    for row in (
        rows.filter(kind="csat")
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(**csat_counts)
        .order_by("month")
    ):
        months.setdefault(row["month"].strftime("%Y-%m"), {})["csat"] = _share(row["satisfied"], row["n"])
    for row in (
        rows.filter(kind="ces")
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(mean=Avg("score"))
        .order_by("month")
    ):
        months.setdefault(row["month"].strftime("%Y-%m"), {})["ces"] = round(row["mean"], 2) if row["mean"] else None
    by: list[dict[str, Any]] = []
    field = {"channel": "channel", "team": "team__name", "agent": "agent__full_name"}.get(group)
    if field:
        for row in rows.filter(kind="nps").values(field).annotate(**nps_counts).order_by(field):
            by.append({"key": row[field] or "—", **nps_figures(row["promoters"], row["passives"], row["detractors"])})
    return {
        "nps": nps_figures(nps_total["promoters"], nps_total["passives"], nps_total["detractors"]),
        "csat": {
            "n": csat_total["n"],
            "score": _share(csat_total["satisfied"], csat_total["n"]),
            "mean": round(csat_total["mean"], 2) if csat_total["mean"] else None,
        },
        "ces": {"n": ces_total["n"], "mean": round(ces_total["mean"], 2) if ces_total["mean"] else None},
        "months": [{"month": m, **v} for m, v in sorted(months.items())],
        "by": by,
    }


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
