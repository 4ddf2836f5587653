"""Sales reads, always scoped to the user: the kanban board, deal lists, funnel, forecast and won/lost figures."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from guanxi.core.models import Team, User

from .models import Deal, DealProduct, DealStatus, LostReason, Pipeline, SalesSettings, Stage, StageKind

COLUMN_PAGE = 50
ZERO = Decimal("0")


def pipelines_active() -> QuerySet[Pipeline]:
    """Pipelines in use, default first then by position."""
    return Pipeline.objects.filter(active=True).order_by("-is_default", "position", "id")


def stages_of(pipeline: Pipeline) -> list[Stage]:
    return list(pipeline.stages.order_by("position", "id"))


def deals_visible_to(user: Any, action: str = "view") -> QuerySet[Deal]:
    """Deals in the user's scope for `action`."""
    return Deal.objects.visible_to(user, action)


def deal_detail(*, user: Any, pk: int, action: str = "view") -> Deal | None:
    return (
        deals_visible_to(user, action)
        .select_related("pipeline", "stage", "account", "currency", "owner", "team", "lost_reason", "lead")
        .filter(pk=pk)
        .first()
    )


def deal_lines(*, deal: Deal) -> QuerySet[DealProduct]:
    """A deal's product lines in the order they were added (the caller has already scoped the deal)."""
    return DealProduct.objects.filter(deal=deal).select_related("product").order_by("id")


@dataclass(frozen=True)
class LineTotals:
    net: Decimal
    tax: Decimal
    gross: Decimal


def deal_line_totals(lines: list[DealProduct]) -> LineTotals:
    """The net, tax and gross sums of some deal lines."""
    return LineTotals(
        net=sum((line.net_amount for line in lines), ZERO),
        tax=sum((line.tax_amount for line in lines), ZERO),
        gross=sum((line.gross_amount for line in lines), ZERO),
    )


def _stale_days_stored() -> int:
    row = SalesSettings.objects.filter(pk=1).only("stale_after_days").first()
    return row.stale_after_days if row else 14


def stale_days() -> int:
    """After how many days without activity an open deal is stale (from the cached sales configuration)."""
    return board_config().stale_days


# --- the sales configuration a board request reads, cached ------------------------------------------
# Pipelines, stages, lost reasons and the stale threshold change a few times a year but were five queries
# of every board load and one of every move; the services that change them forget this entry on commit.
CONFIG_KEY = "sales:config:v1"
CONFIG_SECONDS = 300


@dataclass
class SalesConfig:
    pipelines: list[Pipeline]  # active ones, default first then by position
    stages: dict[int, list[Stage]]  # every pipeline's stages in board order, by pipeline id
    lost_reasons: list[LostReason]  # active ones, in order
    stale_days: int

    def pipeline(self, pk: int) -> Pipeline | None:
        return next((p for p in self.pipelines if p.pk == pk), None)


def board_config(*, pipeline_id: int | None = None) -> SalesConfig:
    """The sales configuration (cached until an administrator changes it, at most CONFIG_SECONDS).

    With `pipeline_id`, a cached copy that does not know that pipeline (written outside the services, e.g. by
    a data load) is read again rather than trusted."""
    config = cache.get(CONFIG_KEY)
    if isinstance(config, SalesConfig) and (pipeline_id is None or pipeline_id in config.stages):
        return config
    stages: dict[int, list[Stage]] = {}
    for stage in Stage.objects.order_by("pipeline_id", "position", "id"):
        stages.setdefault(stage.pipeline_id, []).append(stage)
    config = SalesConfig(
        pipelines=list(pipelines_active()),
        stages=stages,
        lost_reasons=list(LostReason.objects.filter(active=True).order_by("position", "id")),
        stale_days=_stale_days_stored(),
    )
    cache.set(CONFIG_KEY, config, CONFIG_SECONDS)
    return config


def board_config_changed() -> None:
    """Forget the cached sales configuration (after a pipeline, stage, lost reason or the threshold changed)."""
    cache.delete(CONFIG_KEY)


def stale_cutoff(now: datetime | None = None) -> datetime:
    """Open deals with no activity since this moment are stale."""
    return (now or timezone.now()) - timedelta(days=stale_days())


def stale_q(cutoff: datetime | None = None) -> Q:
    return Q(status=DealStatus.OPEN, last_activity_at__lt=cutoff or stale_cutoff())


# --- the kanban board ---------------------------------------------------------------------------


@dataclass
class Column:
    stage: Stage
    count: int = 0
    total: Decimal = ZERO
    deals: list[dict[str, Any]] = field(default_factory=list)  # CARD_FIELDS of each card
    cards: str = ""  # the cards' HTML
    requires: str = ""  # the labels of the stage's required fields
    more: str = ""  # the cursor of the next page ("position:id"), empty when this is all


def board_rows(
    *, user: Any, pipeline: Pipeline, mine: bool = False, stale: bool = False, q: str = ""
) -> QuerySet[Deal]:
    rows = deals_visible_to(user).filter(pipeline=pipeline)
    if mine:
        rows = rows.filter(owner=user)
    if stale:
        rows = rows.filter(stale_q())
    if q:
        rows = rows.filter(name__icontains=q)
    return rows


CARD_FIELDS = (
    "id",
    "name",
    "position",
    "amount",
    "amount_cny",
    "expected_close",
    "last_activity_at",
    "status",
    "currency__code",
    "account__name",
    "owner__full_name",
    "owner__email",
)


def column_page(rows: QuerySet[Deal], stage: Stage, after: str = "") -> tuple[list[dict[str, Any]], str]:
    """One page of a column in board order, after the cursor "position:id"; returns the next cursor too.

    Plain values, not model instances: a board shows hundreds of cards per request.
    """
    page = rows.filter(pipeline_id=stage.pipeline_id, stage=stage)
    if after:
        try:
            position_text, id_text = after.split(":", 1)
            position, last_id = float(position_text), int(id_text)
        except ValueError:
            position, last_id = float("-inf"), 0
        page = page.filter(Q(position__gt=position) | Q(position=position, pk__gt=last_id))
    deals = list(page.order_by("position", "id").values(*CARD_FIELDS)[: COLUMN_PAGE + 1])
    more = ""
    if len(deals) > COLUMN_PAGE:
        deals = deals[:COLUMN_PAGE]
        more = f"{deals[-1]['position']!r}:{deals[-1]['id']}"
    return deals, more


# Column counts and totals scan every deal of the pipeline in the viewer's scope; they are kept in the cache
# for a minute per viewer and filter, and every deal write in the pipeline starts a new generation of keys.
FIGURES_SECONDS = 60


def _generation_key(pipeline_id: int) -> str:
    return f"sales:board:{pipeline_id}:generation"


def board_figures_changed(pipeline_id: int) -> None:
    """Forget the cached column figures of a pipeline (after any deal in it was written)."""
    cache.set(_generation_key(pipeline_id), time.time_ns(), None)


def _figures(rows: QuerySet[Deal], key: str) -> dict[int, dict[str, Any]]:
    cached = cache.get(key)
    if cached is not None:
        return {int(stage): {"n": n, "total": Decimal(total)} for stage, n, total in cached}
    totals = {
        row["stage"]: {"n": row["n"], "total": row["total"]}
        for row in rows.order_by().values("stage").annotate(n=Count("id"), total=Coalesce(Sum("amount_cny"), ZERO))
    }
    cache.set(key, [(stage, v["n"], str(v["total"])) for stage, v in totals.items()], FIGURES_SECONDS)
    return totals


def _first_pages(rows: QuerySet[Deal], stages: list[Stage]) -> dict[int, list[dict[str, Any]]]:
    """The first page (+1, to know whether there is more) of several columns.

    On PostgreSQL one round trip: the columns' `ORDER BY position, id LIMIT n` reads, each on the board index,
    joined with UNION ALL. SQLite allows no LIMIT inside a compound statement, so it asks column by column.
    """
    if not stages:
        return {}
    pages = [
        rows.filter(pipeline_id=stage.pipeline_id, stage=stage)
        .order_by("position", "id")
        .values("stage_id", *CARD_FIELDS)[: COLUMN_PAGE + 1]
        for stage in stages
    ]
    found: dict[int, list[dict[str, Any]]] = {stage.pk: [] for stage in stages}
    if connection.vendor == "postgresql" and len(pages) > 1:
        rows_all = list(pages[0].union(*pages[1:], all=True))
    else:
        rows_all = [row for page in pages for row in page]
    for row in rows_all:
        found[row.pop("stage_id")].append(row)
    for deals in found.values():  # a union keeps no order across its parts: put each column in board order
        deals.sort(key=lambda d: (d["position"], d["id"]))
    return found


def _page_and_cursor(deals: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    if len(deals) > COLUMN_PAGE:
        deals = deals[:COLUMN_PAGE]
        return deals, f"{deals[-1]['position']!r}:{deals[-1]['id']}"
    return deals, ""


def board(*, user: Any, pipeline: Pipeline, mine: bool = False, stale: bool = False, q: str = "") -> list[Column]:
    """The board of a pipeline: per stage its count and total (CNY) and the first page of cards."""
    rows = board_rows(user=user, pipeline=pipeline, mine=mine, stale=stale, q=q)
    generation = cache.get(_generation_key(pipeline.pk), 0)
    viewer = "all" if user.sees_everything else f"user{user.pk}"
    digest = hashlib.sha1(q.encode(), usedforsecurity=False).hexdigest()[:12]
    key = f"sales:board:{pipeline.pk}:{generation}:{viewer}:{int(mine)}:{int(stale)}:{digest}"
    totals = _figures(rows, key)
    stages = board_config().stages.get(pipeline.pk, [])
    columns = []
    for stage in stages:
        figures: dict[str, Any] = totals.get(stage.pk, {"n": 0, "total": ZERO})
        columns.append(Column(stage=stage, count=figures["n"], total=figures["total"]))
    pages = _first_pages(rows, [c.stage for c in columns if c.count])
    for column in columns:
        if column.count:
            column.deals, column.more = _page_and_cursor(pages[column.stage.pk])
    return columns


# --- reports ------------------------------------------------------------------------------------


@dataclass
class FunnelStep:
    stage: Stage
    count: int  # deals in this stage now
    amount: Decimal
    reached: int  # deals that got at least this far
    conversion: float | None  # reached here / reached at the previous open stage, in %


def _report_rows(user: Any, pipeline: Pipeline, owner: User | None = None, team: Team | None = None) -> QuerySet[Deal]:
    rows = deals_visible_to(user).filter(pipeline=pipeline)
    if owner is not None:
        rows = rows.filter(owner=owner)
    if team is not None:
        rows = rows.filter(team=team)
    return rows


def funnel(
    *,
    user: Any,
    pipeline: Pipeline,
    since: date | None = None,
    until: date | None = None,
    owner: User | None = None,
    team: Team | None = None,
) -> list[FunnelStep]:
    """Deals per stage now, with how many reached each open stage and the conversion from the previous one.

    A deal has reached every open stage up to the one it is in; won deals reached them all; a lost deal
    reached the stage it was lost from (`lost_at_stage`, the `from_stage` of its `stage_changed` event into lost).
    `since`/`until` pick deals by the day they were created.
    """
    rows = _report_rows(user, pipeline, owner, team)
    if since:
        rows = rows.filter(created_at__date__gte=since)
    if until:
        rows = rows.filter(created_at__date__lte=until)
    stages = stages_of(pipeline)
    # one grouped read: per stage, and for lost deals per stage they were lost from
    groups = rows.order_by().values("stage", "status", "lost_at_stage")
    now: dict[int, dict[str, Any]] = {}
    lost_from: dict[int, int] = {}
    for row in groups.annotate(n=Count("id"), amount=Coalesce(Sum("amount_cny"), ZERO)):
        stage_figures = now.setdefault(row["stage"], {"n": 0, "amount": ZERO})
        stage_figures["n"] += row["n"]
        stage_figures["amount"] += row["amount"]
        if row["status"] == DealStatus.LOST and row["lost_at_stage"] is not None:
            lost_from[row["lost_at_stage"]] = lost_from.get(row["lost_at_stage"], 0) + row["n"]
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]
    order = {s.pk: index for index, s in enumerate(open_stages)}
    # how many deals stopped at each open stage (the furthest they got)
    furthest = [0] * len(open_stages)
    won = 0
    for stage in stages:
        n = now.get(stage.pk, {}).get("n", 0)
        if stage.kind == StageKind.OPEN:
            furthest[order[stage.pk]] += n
        elif stage.kind == StageKind.WON:
            won += n
    # how many lost deals were lost from each open stage (`lost_at_stage`, kept by deal_move)
    lost_total = sum(now.get(s.pk, {}).get("n", 0) for s in stages if s.kind == StageKind.LOST)
    counted = 0
    for stage_id, n in lost_from.items():
        if stage_id in order:
            furthest[order[stage_id]] += n
            counted += n
    # lost deals with no stage recorded (created lost) count at the first stage
    if open_stages:
        furthest[0] += max(0, lost_total - counted)
    steps = []
    reached_after = won
    reached = [0] * len(open_stages)
    for index in range(len(open_stages) - 1, -1, -1):
        reached_after += furthest[index]
        reached[index] = reached_after
    previous: int | None = None
    for stage in stages:
        figures: dict[str, Any] = now.get(stage.pk, {"n": 0, "amount": ZERO})
        if stage.kind == StageKind.OPEN:
            count_reached = reached[order[stage.pk]]
        elif stage.kind == StageKind.WON:
            count_reached = won
        else:
            count_reached = figures["n"]
        conversion = None
        if stage.kind != StageKind.LOST and previous is not None:
            conversion = round(100 * count_reached / previous, 1) if previous else None
        steps.append(FunnelStep(stage, figures["n"], figures["amount"], count_reached, conversion))
        if stage.kind != StageKind.LOST:
            previous = count_reached
    return steps


def _weighted() -> ExpressionWrapper:
    return ExpressionWrapper(
        F("amount_cny") * F("stage__probability") / 100, output_field=DecimalField(max_digits=20, decimal_places=2)
    )


@dataclass
class ForecastRow:
    month: date
    owner_id: int | None
    owner: str
    deals: int
    amount: Decimal
    weighted: Decimal


def forecast(
    *,
    user: Any,
    pipeline: Pipeline | None = None,
    start: date,
    months: int = 6,
    owner: User | None = None,
    team: Team | None = None,
) -> list[ForecastRow]:
    """Open deals expected to close in each month from `start`, by owner: amount and amount × probability."""
    end = _add_months(start.replace(day=1), months)
    rows = deals_visible_to(user).filter(
        status=DealStatus.OPEN, expected_close__gte=start.replace(day=1), expected_close__lt=end
    )
    if pipeline is not None:
        rows = rows.filter(pipeline=pipeline)
    if owner is not None:
        rows = rows.filter(owner=owner)
    if team is not None:
        rows = rows.filter(team=team)
    grouped = (
        rows.order_by()
        .annotate(month=TruncMonth("expected_close"))
        .values("month", "owner")
        .annotate(n=Count("id"), amount=Coalesce(Sum("amount_cny"), ZERO), weighted=Coalesce(Sum(_weighted()), ZERO))
        .order_by("month", "owner")
    )
    result = list(grouped)
    names = dict(User.objects.filter(pk__in={r["owner"] for r in result if r["owner"]}).values_list("pk", "full_name"))
    return [
        ForecastRow(
            month=_as_date(r["month"]),
            owner_id=r["owner"],
            owner=names.get(r["owner"], "") if r["owner"] else "",
            deals=r["n"],
            amount=r["amount"],
            weighted=Decimal(r["weighted"]).quantize(Decimal("0.01")),
        )
        for r in result
    ]


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def month_starts(start: date, months: int) -> list[date]:
    return [_add_months(start.replace(day=1), i) for i in range(months)]


@dataclass
class ClosedFigures:
    key: Any
    label: str
    won: int = 0
    won_amount: Decimal = ZERO
    lost: int = 0
    lost_amount: Decimal = ZERO
    open: int = 0
    open_amount: Decimal = ZERO
    weighted: Decimal = ZERO

    @property
    def win_rate(self) -> float | None:
        closed = self.won + self.lost
        return round(100 * self.won / closed, 1) if closed else None


def _closed_in(since: date | None, until: date | None) -> Q:
    """Deals closed in the period (all closed deals without one)."""
    closed = ~Q(status=DealStatus.OPEN)
    if since:
        closed &= Q(closed_at__date__gte=since)
    if until:
        closed &= Q(closed_at__date__lte=until)
    return closed


@dataclass
class WonLost:
    lost_by_reason: list[dict[str, Any]]
    by_owner: list[ClosedFigures]
    by_team: list[ClosedFigures]


def won_lost(
    *, user: Any, pipeline: Pipeline | None = None, since: date | None = None, until: date | None = None
) -> WonLost:
    """Deals closed in the period (lost by reason; won and lost per owner and per team) and the open pipeline
    per owner and team, from one grouped read of the deals: one pass over a million deals instead of five."""
    rows = deals_visible_to(user)
    if pipeline is not None:
        rows = rows.filter(pipeline=pipeline)
    if since or until:
        rows = rows.filter(Q(status=DealStatus.OPEN) | _closed_in(since, until))
    groups: list[dict[str, Any]] = [
        dict(row)
        for row in rows.order_by()
        .values("owner", "team", "status", "stage", "lost_reason")
        .annotate(n=Count("id"), amount=Coalesce(Sum("amount_cny"), ZERO))
    ]
    probability = dict(Stage.objects.filter(pk__in={row["stage"] for row in groups}).values_list("pk", "probability"))
    for row in groups:  # weighted in Python per stage: no join of a million deals with their stages
        row["probability"] = probability.get(row["stage"], 0)
    reasons: dict[Any, dict[str, Any]] = {}
    for row in groups:
        if row["status"] == DealStatus.LOST:
            entry = reasons.setdefault(row["lost_reason"], {"deals": 0, "amount": ZERO})
            entry["deals"] += row["n"]
            entry["amount"] += row["amount"]
    names = dict(LostReason.objects.values_list("pk", "name"))
    lost = [
        {"reason_id": key, "reason": names.get(key, ""), "deals": v["deals"], "amount": v["amount"]}
        for key, v in sorted(reasons.items(), key=lambda item: -item[1]["deals"])
    ]
    return WonLost(lost_by_reason=lost, by_owner=_figures_of(groups, "owner"), by_team=_figures_of(groups, "team"))


def _figures_of(groups: list[dict[str, Any]], by: str) -> list[ClosedFigures]:
    """Won, lost, open and weighted per owner or team from the grouped rows of `won_lost`."""
    table: dict[Any, ClosedFigures] = {}
    weighted: dict[Any, Decimal] = {}
    for row in groups:
        key = row[by]
        item = table.setdefault(key, ClosedFigures(key=key, label=""))
        if row["status"] == DealStatus.WON:
            item.won += row["n"]
            item.won_amount += row["amount"]
        elif row["status"] == DealStatus.LOST:
            item.lost += row["n"]
            item.lost_amount += row["amount"]
        else:
            item.open += row["n"]
            item.open_amount += row["amount"]
            weighted[key] = weighted.get(key, ZERO) + row["amount"] * row["probability"] / 100
    for key, value in weighted.items():
        table[key].weighted = value.quantize(Decimal("0.01"))
    model = User if by == "owner" else Team
    label_field = "full_name" if by == "owner" else "name"
    names = dict(model.objects.filter(pk__in=[k for k in table if k]).values_list("pk", label_field))
    for key, item in table.items():
        item.label = names.get(key, "") if key else ""
    return sorted(table.values(), key=lambda f: (-f.won_amount, -f.open_amount, f.label))


def lost_by_reason(
    *, user: Any, pipeline: Pipeline | None = None, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """Deals lost in the period per lost reason: how many and how much, most first."""
    return won_lost(user=user, pipeline=pipeline, since=since, until=until).lost_by_reason


def figures_by(
    *,
    user: Any,
    by: str,
    pipeline: Pipeline | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[ClosedFigures]:
    """Per owner (`by="owner"`) or per team (`by="team"`): won and lost in the period, open pipeline and weighted."""
    figures = won_lost(user=user, pipeline=pipeline, since=since, until=until)
    return figures.by_owner if by == "owner" else figures.by_team
