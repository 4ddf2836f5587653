"""Ranked search in tiers, so a search over a million records reads dozens of rows, not a million.

A query is asked in tiers, best first: exact (whole name, full pinyin, initials, whole phone number
or email), then prefix (the name, pinyin or initials start with it), then contains (three characters
or more: a name fragment, a phone fragment, part of an email), then, for contacts, their company.
Each tier is one indexed query in the user's scope, limited and unordered, so the database stops as
soon as it has enough rows; the rows are ranked and de-duplicated here. On PostgreSQL the substring
tier is planned as if every match were wanted and read only as far as the limit (see `Fenced`). A
word of one or two characters (张伟, zw) is looked up by prefix only: no index serves a two-character
substring.

The indexes each tier relies on are in `search_index.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connections
from django.db.models import Model, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import StrIndex, Upper
from django.db.models.lookups import GreaterThan

from guanxi.core.pii import can_view_pii

from .emails import email_normalise
from .names import search_key
from .phones import phone_digits, phone_normalise
from .search_index import fts_table

SEARCH_CAP = 1000  # a list counts this many matches and then says "1,000+"
# SQLite reads at most this many FTS matches per wanted row: all a user who sees everything needs, and
# enough for a scoped user unless a fragment is very common (then the tier shows fewer, never wrong, rows)
SCOPED_SPREAD = 20
MIN_CONTAINS = 3  # shorter fragments are matched by prefix only
MIN_PHONE_FRAGMENT = 3
TRUNK_NUMBER = 9
PHONE_LIKE = re.compile(r"[\d\s()+\-.]+")

M = TypeVar("M", bound=Model)
Part = tuple[str, str, bool]  # (column, fragment, case-insensitive)


@dataclass(frozen=True)
class Fenced:
    """A PostgreSQL tier read through a MATERIALIZED CTE: planned for all its matches, read only as far as wanted.

    Under a bare `LIMIT 51` the planner prices a sequential scan as stopping after 51 / (estimated
    matches) of the table, which assumes matches are spread evenly. Substring matches are not: numbers
    are issued and imported in runs, so a phone fragment's matches sit together and the scan reads most
    of a million rows first (250 ms and more, against 2 ms by the trigram index). Inside the CTE the
    planner costs the whole match, where the trigram bitmap wins; PostgreSQL evaluates a CTE only as far
    as its reader asks, so the LIMIT outside still stops the heap scan early.
    """

    match: Q


Tier = Q | Fenced | Callable[[int], Q] | None  # a callable tier is told how many rows are still wanted


def clean_query(q: str | None) -> str:
    return " ".join((q or "").split())


class RankedRows(Generic[M]):
    """The ranked matches of tiered queries, paged like a queryset: `count()` stops at `cap`.

    Each row gets `search_rank`, the index of the first tier that found it.
    """

    def __init__(
        self, rows: QuerySet[M], tiers: list[Tier], order: tuple[str, ...], *, user: Any, cap: int = SEARCH_CAP
    ):
        self.rows = rows
        self.spread = 1 if getattr(user, "sees_everything", False) else SCOPED_SPREAD
        self.tiers = tiers
        self.order = order
        self.cap = cap
        self._ranked: list[tuple[int, int]] | None = None

    def _sort_key(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(-v if f.startswith("-") else v for f, v in zip(self.order, row[1:], strict=True))

    @property
    def ranked(self) -> list[tuple[int, int]]:
        """(pk, tier) of up to `cap + 1` matches, best first."""
        if self._ranked is None:
            base = self.rows.order_by().prefetch_related(None)
            fields = [f.removeprefix("-") for f in self.order]
            ranked: list[tuple[int, int]] = []
            seen: set[int] = set()
            for rank, match in enumerate(self.tiers):
                want = self.cap + 1 - len(ranked)
                if match is None:
                    continue
                if want <= 0:
                    break
                limit = want + len(seen)
                if callable(match):
                    match = match(limit * self.spread)
                if isinstance(match, Fenced):
                    rows = first_rows(base.filter(match.match).values_list("pk", *fields), limit)
                else:
                    rows = list(base.filter(_driving(base, match)).values_list("pk", *fields)[:limit])
                found = sorted(rows, key=self._sort_key)
                for row in found:
                    if row[0] not in seen:
                        seen.add(row[0])
                        ranked.append((row[0], rank))
            self._ranked = ranked[: self.cap + 1]
        return self._ranked

    def count(self) -> int:
        return min(len(self.ranked), self.cap)

    @property
    def capped(self) -> bool:
        """More matches exist than were counted."""
        return len(self.ranked) > self.cap

    def all(self) -> RankedRows[M]:
        return self

    def pks(self) -> list[int]:
        """The ids of the counted matches, best first (for narrowing a queryset to them)."""
        return [pk for pk, _rank in self.ranked[: self.cap]]

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, key: int) -> M: ...

    @overload
    def __getitem__(self, key: slice) -> list[M]: ...

    def __getitem__(self, key: int | slice) -> M | list[M]:
        if isinstance(key, int):
            return self[key : key + 1][0]
        wanted = self.ranked[: self.cap][key]
        by_pk = self.rows.in_bulk([pk for pk, _rank in wanted])
        page = []
        for pk, rank in wanted:
            row = by_pk[pk]
            row.search_rank = rank  # type: ignore[attr-defined]
            page.append(row)
        return page

    def __iter__(self) -> Iterator[M]:
        return iter(self[:])


def _driving(base: QuerySet[Any], match: Q) -> Q:
    """On SQLite, the match as `pk IN (its own rows)`, so the planner starts from the match's indexes: given
    the user's scope beside it (owner OR team OR shares), it walked the team's tens of thousands of rows
    and tested each (50–70 ms a tier at a million contacts, against 2–7 ms). PostgreSQL plans it well."""
    if connections[base.db].vendor != "sqlite":
        return match
    return Q(pk__in=base.model._base_manager.filter(match).values("pk"))


def first_rows(rows: QuerySet[Any], limit: int) -> list[tuple[Any, ...]]:
    """The first `limit` rows of an unordered `values_list` of plain columns, through a MATERIALIZED CTE
    (see `Fenced`)."""
    try:
        sql, params = rows.query.get_compiler(using=rows.db).as_sql()
    except EmptyResultSet:  # e.g. a user without the permission: `none()`
        return []
    with connections[rows.db].cursor() as cursor:
        cursor.execute(f"WITH found AS MATERIALIZED ({sql}) SELECT * FROM found LIMIT %s", [*params, limit])
        return list(cursor.fetchall())


def contains(rows: QuerySet[Any], parts: list[Part]) -> Tier:
    """One substring match over several columns, by the database's substring index.

    PostgreSQL: trigram GIN indexes under LIKE, the tier `Fenced`. SQLite: the table's FTS5 trigram
    index, column by column, read only as far as the rows still wanted (FTS5 yields matches lazily; an
    unlimited `IN (…)` would collect every match of a common fragment first).
    """
    parts = [p for p in parts if len(p[1]) >= MIN_CONTAINS]
    if not parts:
        return None
    if connections[rows.db].vendor == "sqlite":
        fts = fts_table(rows.model._meta.db_table)
        # one phrase per distinct fragment, over all the columns searched for it ({a b} : "…"): FTS5 reads
        # a phrase's trigram lists once per phrase, and a pinyin query is the same text for the name,
        # pinyin and email columns (five columns of a lead), whose common trigrams ("ang") fill long lists
        columns: dict[str, list[str]] = {}
        for column, fragment, _ci in parts:
            columns.setdefault(fragment, []).append(column)
        quoted = [(" ".join(names), fragment.replace('"', '""')) for fragment, names in columns.items()]
        phrases = " OR ".join(f'{{{names}}} : "{fragment}"' for names, fragment in quoted)
        sql = f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s LIMIT %s"
        return lambda limit: Q(pk__in=RawSQL(sql, [phrases, limit]))
    match = Q()
    for column, fragment, insensitive in parts:
        match |= _substring(column, fragment, insensitive)
    return Fenced(match)


def _substring(column: str, fragment: str, insensitive: bool) -> Q:
    """PostgreSQL: `column` contains `fragment`, asking the trigram index only for what picks rows out.

    A GIN trigram scan reads the posting list of every trigram in the pattern; a whole address's domain
    (corp.example.org, qq.com) has trigrams found in a large share of all rows, and reading them cost
    35–45 ms at a million contacts against 2 ms for the part before the domain. So for an address the
    index is asked for "local@" and the whole fragment is checked on the few rows it finds, by a
    function the index cannot serve (the planner would otherwise fold it into the same index scan).
    """
    lookup = f"{column}__{'icontains' if insensitive else 'contains'}"
    local, at, _domain = fragment.partition("@")
    if not (insensitive and at and len(local) >= MIN_CONTAINS):
        return Q(**{lookup: fragment})
    whole = GreaterThan(StrIndex(Upper(column), Upper(Value(fragment))), 0)
    return Q(**{lookup: local + at}) & Q(whole)


def name_tiers(q: str, *, name: str, pinyin: str, initials: str) -> tuple[Q, Q, list[Part]]:
    """Exact, prefix and substring matches of a name, its full pinyin and its initials (张伟 = zhangwei = zw)."""
    key = search_key(q)
    exact = Q(**{f"{name}__iexact": q})
    prefix = Q(**{f"{name}__istartswith": q})
    parts: list[Part] = [(name, q, True)]
    if key:
        exact |= Q(**{pinyin: key}) | Q(**{initials: key})
        prefix |= Q(**{f"{pinyin}__startswith": key}) | Q(**{f"{initials}__startswith": key})
        # inside longer runs of letters ("benitez woodward" holds "zw") a short key finds noise: prefix only
        parts.append((pinyin, key, False))
    return exact, prefix, parts


def contact_point_tiers(q: str, user: Any) -> tuple[Q, list[Part]]:
    """Phone and email: a whole number or address matches exactly for everyone; fragments only with
    `view_pii`, so masked values cannot be uncovered by searching fragment by fragment."""
    exact = Q()
    parts: list[Part] = []
    digits = phone_digits(q)
    if PHONE_LIKE.fullmatch(q) and len(digits) >= MIN_PHONE_FRAGMENT:
        with suppress(ValidationError):  # a fragment is not a whole number: nothing to match exactly
            exact |= Q(phone=phone_normalise(q))
        if can_view_pii(user):
            parts.append(("phone", digits, False))
            if digits.startswith("0") and len(digits) >= TRUNK_NUMBER:
                # a national number's trunk zero ("010 …") is not part of the E.164 form
                parts.append(("phone", digits[1:], False))
    if "@" in q:
        with suppress(ValidationError):  # not a whole address: nothing to match exactly
            exact |= Q(email__iexact=email_normalise(q))
    if can_view_pii(user):
        parts.append(("email", q, True))
    return exact, parts


def or_all(*matches: Q | None) -> Q | None:
    present = [m for m in matches if m is not None and m]
    if not present:
        return None
    match = present[0]
    for other in present[1:]:
        match |= other
    return match


def resolved(tier: Tier, limit: int) -> Q | None:
    """A tier as a plain Q (for use inside another query), reading at most `limit` index matches."""
    if isinstance(tier, Fenced):
        return tier.match
    return tier(limit) if callable(tier) else tier
