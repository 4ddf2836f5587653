"""Generated deals with realistic stage histories, written fast (demo data and benchmarks).

Each deal is created at a random moment in the window, then walks the open stages of its pipeline:
at each stage it moves on with a stage-dependent chance, after a few days to a few weeks. A deal that
stops is lost (with a reason) if it is old enough, else it is still open there; a deal that passes the
last open stage is won. Every step is written as the events the services write (`created`, then one
`stage_changed` per move with the from/to stages and the time in the old one), so funnel, conversion and
time-in-stage figures come out of the generated data exactly as from typed data.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from guanxi.core.bulk import insert_rows
from guanxi.core.models import Event
from guanxi.customers.models import Lead

from .models import Currency, Deal, DealProduct, DealStatus, LostReason, Pipeline, Product, StageKind
from .pricing import line_totals, money

CHUNK = 20_000
AMOUNTS = (5_000, 8_000, 12_000, 20_000, 30_000, 50_000, 80_000, 120_000, 200_000, 500_000)
NAMES = ("ERP 实施", "CRM 订阅", "云服务器", "数据平台", "年度维保", "培训服务", "Annual licence", "Cloud migration")
DEAL_FIELDS = [
    "id",
    "name",
    "pipeline",
    "stage",
    "status",
    "account",
    "amount",
    "currency",
    "amount_cny",
    "expected_close",
    "source",
    "lost_reason",
    "lost_note",
    "lost_at_stage",
    "closed_at",
    "stage_entered_at",
    "last_activity_at",
    "position",
    "custom",
    "created_at",
    "updated_at",
    "owner",
    "team",
]
LINE_FIELDS = [
    "deal",
    "product",
    "description",
    "quantity",
    "unit_price",
    "discount_percent",
    "tax_rate",
    "net_amount",
    "tax_amount",
    "gross_amount",
]
EVENT_FIELDS = [
    "occurred_at",
    "actor",
    "actor_label",
    "content_type",
    "object_id",
    "object_repr",
    "action",
    "changes",
    "data",
    "dispatched_at",
    "dispatch_attempts",
    "dispatch_error",
]


_to_json = json.JSONEncoder(ensure_ascii=False).encode  # one encoder for millions of events, not one per call


@dataclass(frozen=True)
class Owner:
    id: int
    label: str
    team_id: int | None


def _reserve_ids(count: int) -> list[int]:
    """Ids for `count` new deals: the sequence's next values on PostgreSQL, after the largest id elsewhere."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Deal._meta.db_table, count],
            )
            return [pk for (pk,) in cursor.fetchall()]
    start = (Deal.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    return list(range(start, start + count))


def _time_adapter() -> Callable[[datetime], Any]:
    """How datetimes are written: as they are on PostgreSQL (COPY adapts them), as text elsewhere.

    Looked up once per run: `connection.vendor` costs a thread-local lookup, a noticeable share of a million deals.
    """
    if connection.vendor == "postgresql":
        return lambda value: value
    return connection.ops.adapt_datetimefield_value


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def deals_generate(
    *,
    count: int,
    seed: int,
    owners: Sequence[Owner],
    pipelines: Sequence[tuple[Pipeline, float]],
    account_ids: Sequence[int] = (),
    days: int = 730,
    open_only: bool = False,
    now: datetime | None = None,
    with_events: bool = True,
    products: Sequence[Product] = (),
) -> dict[str, int]:
    """Write `count` deals over the last `days` days (pipelines picked by weight), with their events.

    `open_only` keeps every deal open (a board under load); otherwise old deals that stall are lost
    and those that pass every open stage are won. With `products`, each deal gets one to three product
    lines (priced in the deal's currency) and its amount is their gross total, as `deal_line_add` keeps it.
    """
    if count <= 0 or not owners or not pipelines:
        return {}
    rng = random.Random(f"{seed}:deals")
    line_rng = random.Random(f"{seed}:deal-lines")  # its own stream: the deals stay the same with or without lines
    catalogue = _catalogue(products) if products else []
    now = now or timezone.now()
    start = now - timedelta(days=days)
    currencies = {c.code: c for c in Currency.objects.filter(active=True, rate_to_cny__isnull=False)}
    cny = currencies.get("CNY") or next(iter(currencies.values()))
    weighted_currencies = [(cny, 0.9)] + [
        (currencies[c], w) for c, w in (("USD", 0.07), ("EUR", 0.03)) if c in currencies
    ]
    reasons = list(LostReason.objects.filter(active=True).values_list("id", "name"))
    content_type = ContentType.objects.get_for_model(Deal).pk
    stages_of = {p.pk: list(p.stages.order_by("position", "id")) for p, _w in pipelines}
    pipeline_list = [p for p, _w in pipelines]
    pipeline_weights = [w for _p, w in pipelines]
    sources = list(Lead.Source.values)
    _db_time = _time_adapter()
    dispatched = _db_time(now)
    totals = {"deals": 0, "events": 0, "open": 0, "won": 0, "lost": 0, "lines": 0}
    position = 0.0

    def pick_currency() -> Currency:
        roll, acc = rng.random(), 0.0
        for currency, weight in weighted_currencies:
            acc += weight
            if roll < acc:
                return currency
        return cny

    done = 0
    while done < count:
        size = min(CHUNK, count - done)
        ids = _reserve_ids(size)
        deal_rows: list[Sequence[Any]] = []
        event_rows: list[list[Any]] = []
        line_rows: list[list[Any]] = []
        for pk in ids:
            pipeline = rng.choices(pipeline_list, pipeline_weights)[0]
            stages = stages_of[pipeline.pk]
            open_stages = [s for s in stages if s.kind == StageKind.OPEN]
            won_stage = next((s for s in stages if s.kind == StageKind.WON), None)
            lost_stage = next((s for s in stages if s.kind == StageKind.LOST), None)
            owner = owners[rng.randrange(len(owners))]
            created = start + timedelta(seconds=rng.random() * days * 86400)
            name = f"{rng.choice(NAMES)} #{pk}"
            currency = pick_currency()
            amount = _money(Decimal(rng.choice(AMOUNTS)) * Decimal(str(round(rng.uniform(0.5, 1.5), 2))))
            if catalogue:
                lines = _lines(line_rng, pk, catalogue, currency)
                line_rows += lines
                amount = sum((line[-1] for line in lines), Decimal("0.00"))
            amount_cny = _money(amount * (currency.rate_to_cny or Decimal("1")))
            # walk the stages
            path = [(open_stages[0], created)]
            moment = created
            index = 0
            while True:
                step = timedelta(days=rng.uniform(1, 21))
                if moment + step > now:
                    break
                advance = rng.random() < (0.55 + 0.05 * index)
                if not advance:
                    break
                moment += step
                index += 1
                if index >= len(open_stages):
                    if won_stage is not None and not open_only:
                        path.append((won_stage, moment))
                    break
                path.append((open_stages[index], moment))
            last_stage, entered = path[-1]
            lost_at = None
            lost_reason: tuple[int, str] | None = None
            if (
                not open_only
                and last_stage.kind == StageKind.OPEN
                and lost_stage is not None
                and reasons
                and (now - entered).days > 45
                and rng.random() < 0.85
            ):
                moment = min(now, entered + timedelta(days=rng.uniform(3, 40)))
                path.append((lost_stage, moment))
                lost_reason = rng.choice(reasons)
                lost_at = last_stage.pk
            final, final_at = path[-1]
            status = DealStatus(final.kind)
            totals[str(status)] += 1
            if status == DealStatus.OPEN:
                expected = (now + timedelta(days=rng.randint(-10, 170))).date()
                closed_at = None
            else:
                expected = final_at.date()
                closed_at = final_at
            position += 1.0
            deal_rows.append(
                [
                    pk,
                    name,
                    pipeline.pk,
                    final.pk,
                    str(status),
                    account_ids[rng.randrange(len(account_ids))] if account_ids and rng.random() < 0.9 else None,
                    amount,
                    currency.pk,
                    amount_cny,
                    expected.isoformat(),
                    rng.choice(sources),
                    lost_reason[0] if lost_reason else None,
                    "",
                    lost_at,
                    _db_time(closed_at) if closed_at else None,
                    _db_time(final_at),
                    _db_time(final_at),
                    position,
                    "{}",
                    _db_time(created),
                    _db_time(final_at),
                    owner.id,
                    owner.team_id,
                ]
            )
            if not with_events:
                continue
            first = path[0][0]
            created_changes = {"name": [None, name], "amount": [None, str(amount)], "stage": [None, first.name]}
            created_data = {"to_stage": first.pk, "to_name": first.name, "to_kind": first.kind, "lead": None}
            event_rows.append(
                _event(pk, name, owner, content_type, "created", created, created_changes, created_data, dispatched)
            )
            for (old, old_at), (new, new_at) in pairwise(path):
                changes: dict[str, Any] = {"stage": [old.name, new.name]}
                if new.kind == StageKind.LOST and lost_reason:
                    changes["lost_reason"] = [None, lost_reason[1]]
                data = {
                    "pipeline": pipeline.pk,
                    "from_stage": old.pk,
                    "from_name": old.name,
                    "from_kind": old.kind,
                    "to_stage": new.pk,
                    "to_name": new.name,
                    "to_kind": new.kind,
                    "seconds_in_stage": int((new_at - old_at).total_seconds()),
                    "lost_reason": lost_reason[0] if new.kind == StageKind.LOST and lost_reason else None,
                }
                event_rows.append(
                    _event(pk, name, owner, content_type, "stage_changed", new_at, changes, data, dispatched)
                )
        insert_rows(model=Deal, fields=DEAL_FIELDS, rows=deal_rows)
        if line_rows:
            insert_rows(model=DealProduct, fields=LINE_FIELDS, rows=line_rows)
        totals["lines"] += len(line_rows)
        if event_rows:
            insert_rows(model=Event, fields=EVENT_FIELDS, rows=_sorted_events(event_rows, _db_time))
        totals["deals"] += len(deal_rows)
        totals["events"] += len(event_rows)
        done += size
    from .selectors import board_figures_changed

    for pipeline in pipeline_list:
        board_figures_changed(pipeline.pk)
    return totals


def _catalogue(products: Sequence[Product]) -> list[tuple[int, Decimal, Decimal]]:
    """(id, price in CNY, VAT rate) of each product, read once for all deals."""
    found = Product.objects.select_related("currency").filter(pk__in=[p.pk for p in products]).order_by("id")
    return [(p.pk, p.price * (p.currency.rate_to_cny or Decimal("1")), p.tax_rate) for p in found]


def _lines(
    rng: random.Random, deal_id: int, catalogue: list[tuple[int, Decimal, Decimal]], currency: Currency
) -> list[list[Any]]:
    """One to three product lines for a deal: the products' CNY prices in the deal's currency, a few discounted."""
    rows = []
    rate = currency.rate_to_cny or Decimal("1")
    for product_id, price_cny, tax_rate in rng.sample(catalogue, min(len(catalogue), rng.randint(1, 3))):
        unit_price = money(price_cny / rate)
        quantity = Decimal(rng.choice([1, 1, 2, 3, 5, 10]) if price_cny < 1000 else rng.choice([1, 1, 2, 4]))
        discount = Decimal(rng.choice(["0", "0", "0", "5", "10"]))
        line = line_totals(quantity=quantity, unit_price=unit_price, discount_percent=discount, tax_rate=tax_rate)
        rows.append([deal_id, product_id, "", quantity, unit_price, discount, tax_rate, line.net, line.tax, line.gross])
    return rows


def _event(
    pk: int,
    name: str,
    owner: Owner,
    content_type: int,
    action: str,
    when: datetime,
    changes: dict[str, Any],
    data: dict[str, Any],
    dispatched: Any,
) -> list[Any]:
    return [
        when,
        owner.id,
        owner.label,
        content_type,
        pk,
        name[:200],
        action,
        _to_json(changes),
        _to_json(data),
        dispatched,
        0,
        "",
    ]


def _sorted_events(rows: list[list[Any]], db_time: Callable[[datetime], Any]) -> Iterator[list[Any]]:
    """Events in time order (their ids then follow time, as if written live), times adapted for the database."""
    rows.sort(key=lambda r: r[0])
    for row in rows:
        row[0] = db_time(row[0])
        yield row
