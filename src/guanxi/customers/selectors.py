"""Every read of customer records, scoped to the user who asks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db.models import Avg, Count, Prefetch, Q, QuerySet
from django.urls import reverse

from guanxi.core import customfields
from guanxi.core.models import Event, Team, User
from guanxi.core.selectors import object_history

from . import quality
from .models import Account, Contact, ContactAccount, Interaction, Lead
from .search import (
    SCOPED_SPREAD,
    SEARCH_CAP,
    RankedRows,
    Tier,
    clean_query,
    contact_point_tiers,
    contains,
    name_tiers,
    or_all,
    resolved,
)

SEARCH_LIMIT = 50

M = TypeVar("M", Account, Contact, Lead)


def accounts_visible_to(user: Any, action: str = "view", *, archived: bool = False) -> QuerySet[Account]:
    """Accounts the user may `action`, archived ones left out (or only those, with `archived`)."""
    return (
        Account.objects.visible_to(user, action)
        .filter(archived_at__isnull=not archived)
        .select_related("owner", "team")
        .prefetch_related("tags")
    )


def contacts_visible_to(user: Any, action: str = "view", *, archived: bool = False) -> QuerySet[Contact]:
    """Contacts the user may `action`, archived ones left out (or only those), with their account links."""
    links = Prefetch("links", queryset=ContactAccount.objects.select_related("account").order_by("id"))
    return (
        Contact.objects.visible_to(user, action)
        .filter(archived_at__isnull=not archived)
        .select_related("owner", "team")
        .prefetch_related(links, "tags")
    )


def leads_visible_to(user: Any, action: str = "view", *, archived: bool = False) -> QuerySet[Lead]:
    """Leads the user may `action`, archived ones left out (or only those, with `archived`)."""
    return (
        Lead.objects.visible_to(user, action)
        .filter(archived_at__isnull=not archived)
        .select_related("owner", "team", "converted_contact")
        .prefetch_related("tags")
    )


def custom_filter(rows: QuerySet[M], record_type: str, params: Any) -> QuerySet[M]:
    """Narrow customer rows by `?cf_<key>=value` (and `cf_<key>__gte` / `__lte` for numbers, money, dates).

    On PostgreSQL equality is `custom @> {"key": value}`, answered by the GIN index on `custom`."""
    return customfields.custom_filter(rows, record_type, params)


def account_contacts(*, account: Account, user: Any) -> QuerySet[ContactAccount]:
    """The links from contacts the user may see to this account."""
    visible = contacts_visible_to(user).values("pk")
    return account.contact_links.filter(contact__in=visible).select_related("contact").order_by("contact__full_name")


def _with_merged(record: Any, events: QuerySet[Event]) -> QuerySet[Event]:
    """Add the history of the records merged into this one (dedupe keeps their ids as redirects)."""
    from guanxi.dedupe.selectors import merged_into

    models: dict[str, Any] = {"contact": Contact, "account": Account, "lead": Lead}
    record_type = {Contact: "contact", Account: "account", Lead: "lead"}[type(record)]
    for kind, old_id in merged_into(record_type=record_type, record_id=record.pk):
        events = events | object_history(models[kind](pk=old_id))
    return events.order_by("-id")


def merged_record_url(*, user: Any, record_type: str, pk: int, api: bool = False) -> str | None:
    """Where a record merged into another now leads (page or API path), if the user may see the old record."""
    from guanxi.dedupe.selectors import merge_redirect

    redirect = merge_redirect(record_type=record_type, old_id=pk)
    models: dict[str, Any] = {"contact": Contact, "account": Account, "lead": Lead}
    if redirect is None or not models[record_type].objects.visible_to(user).filter(pk=pk).exists():
        return None
    if api:
        return f"{reverse('api-v1:api-root')}{redirect.survivor_type}s/{redirect.survivor_id}"
    return reverse(f"{redirect.survivor_type}-detail", args=[redirect.survivor_id])


def contact_history(contact: Contact) -> QuerySet[Event]:
    """The contact's own events, for a converted lead the lead's events before it, and those of merged records."""
    events = object_history(contact)
    if contact.converted_from_id:
        events = events | object_history(contact.converted_from)
    return _with_merged(contact, events)


def record_history(record: Any) -> QuerySet[Event]:
    """The history panel of an account or lead the caller has already found in scope, merged records' included."""
    return _with_merged(record, object_history(record))


# --- search -----------------------------------------------------------------------------------
# Tiered and indexed: see search.py. Every tier runs inside the user's scope.


def contacts_search(
    *, user: Any, q: str, archived: bool = False, rows: QuerySet[Contact] | None = None, cap: int = SEARCH_CAP
) -> Any:
    """Contacts in scope by name, pinyin (张伟 = zhangwei = zw), phone fragment, email or company name.

    `rows` narrows the search to rows already filtered (a list's filters); by default all in scope."""
    rows = contacts_visible_to(user, archived=archived) if rows is None else rows
    q = clean_query(q)
    if not q:
        return rows
    exact, prefix, parts = name_tiers(q, name="full_name", pinyin="name_pinyin", initials="name_initials")
    points, point_parts = contact_point_tiers(q, user)
    companies = Account.objects.filter(archived_at__isnull=True)
    c_exact, c_prefix, c_parts = name_tiers(q, name="name", pinyin="name_pinyin", initials="name_initials")
    company = or_all(c_exact, c_prefix, resolved(contains(companies, c_parts), cap * SCOPED_SPREAD))
    linked = Q(pk__in=ContactAccount.objects.filter(account__in=companies.filter(company)).values("contact_id"))
    tiers: list[Tier] = [
        or_all(exact, points),
        prefix,
        contains(rows, parts + point_parts),
        linked if company else None,
    ]
    return RankedRows(rows, tiers, ("full_name", "id"), user=user, cap=cap)


def accounts_search(
    *, user: Any, q: str, archived: bool = False, rows: QuerySet[Account] | None = None, cap: int = SEARCH_CAP
) -> Any:
    """Accounts in scope by name, pinyin, pinyin initials or registration number.

    `rows` narrows the search to rows already filtered (a list's filters); by default all in scope."""
    rows = accounts_visible_to(user, archived=archived) if rows is None else rows
    q = clean_query(q)
    if not q:
        return rows
    exact, prefix, parts = name_tiers(q, name="name", pinyin="name_pinyin", initials="name_initials")
    registration = "".join(q.split()).upper()
    exact |= Q(registration_number=registration)
    tiers: list[Tier] = [exact, prefix, contains(rows, [*parts, ("registration_number", registration, False)])]
    return RankedRows(rows, tiers, ("name", "id"), user=user, cap=cap)


def leads_search(
    *, user: Any, q: str, archived: bool = False, rows: QuerySet[Lead] | None = None, cap: int = SEARCH_CAP
) -> Any:
    """Leads in scope by person or company name (with pinyin), phone fragment or email.

    `rows` narrows the search to rows already filtered (a list's filters); by default all in scope."""
    rows = leads_visible_to(user, archived=archived) if rows is None else rows
    q = clean_query(q)
    if not q:
        return rows
    exact, prefix, parts = name_tiers(q, name="full_name", pinyin="name_pinyin", initials="name_initials")
    c_exact, c_prefix, c_parts = name_tiers(
        q, name="company_name", pinyin="company_pinyin", initials="company_initials"
    )
    points, point_parts = contact_point_tiers(q, user)
    tiers: list[Tier] = [
        or_all(exact, c_exact, points),
        prefix | c_prefix,
        contains(rows, parts + c_parts + point_parts),
    ]
    return RankedRows(rows, tiers, ("-id",), user=user, cap=cap)


@dataclass(frozen=True)
class SearchHit:
    type: str
    id: int
    name: str
    detail: str
    url: str
    rank: int


def customers_search(*, user: Any, q: str, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
    """One search box over contacts, accounts and leads in scope; best matches first.

    The box shows names, so it reads plain values of the ranked ids (three small queries and the
    contacts' companies), not model instances: at some 150 hits a search, building instances, their
    prefetched links and a reverse() per hit cost more than the database's part of the search."""
    if not (q or "").strip():
        return []
    hits: list[SearchHit] = []
    people = Contact.objects.visible_to(user).filter(archived_at__isnull=True)
    firms = Account.objects.visible_to(user).filter(archived_at__isnull=True)
    leads = Lead.objects.visible_to(user).filter(archived_at__isnull=True)

    found = _ranked_values(contacts_search(user=user, q=q, rows=people, cap=limit), people, limit, "full_name")
    companies: dict[int, list[str]] = {}
    for contact_id, company in (
        ContactAccount.objects.filter(contact_id__in=[pk for pk, _rank, _values in found])
        .order_by("id")
        .values_list("contact_id", "account__name")
    ):
        companies.setdefault(contact_id, []).append(company)
    url = _detail_url("contact-detail")
    for pk, rank, (name,) in found:
        hits.append(SearchHit("contact", pk, name, ", ".join(companies.get(pk, [])), url(pk), rank))

    url = _detail_url("account-detail")
    for pk, rank, (name, city) in _ranked_values(
        accounts_search(user=user, q=q, rows=firms, cap=limit), firms, limit, "name", "city"
    ):
        hits.append(SearchHit("account", pk, name, city, url(pk), rank))

    url = _detail_url("lead-detail")
    for pk, rank, (person, firm) in _ranked_values(
        leads_search(user=user, q=q, rows=leads, cap=limit), leads, limit, "full_name", "company_name"
    ):
        hits.append(SearchHit("lead", pk, person or firm, firm if person else "", url(pk), rank))
    order = {"contact": 0, "account": 1, "lead": 2}
    return sorted(hits, key=lambda h: (h.rank, order[h.type], h.name))


def _ranked_values(
    found: Any, rows: QuerySet[Any], limit: int, *columns: str
) -> list[tuple[int, int, tuple[Any, ...]]]:
    """(pk, rank, the columns' values) of the first `limit` ranked matches, read in one query."""
    ranked = found.ranked[:limit]
    values = {
        pk: tuple(rest) for pk, *rest in rows.filter(pk__in=[pk for pk, _rank in ranked]).values_list("pk", *columns)
    }
    return [(pk, rank, values[pk]) for pk, rank in ranked]


def _detail_url(name: str) -> Any:
    """pk → the record's detail URL, as `get_absolute_url` gives it, with one reverse() per record type."""
    marker = 987654321
    template = reverse(name, args=[marker])
    return lambda pk: template.replace(str(marker), str(pk))


# --- interactions, tasks and the one timeline -------------------------------------------------


def interactions_visible_to(user: Any, action: str = "view") -> QuerySet[Interaction]:
    """Interactions and tasks the user may `action`, with who did them and what they are about."""
    rows = Interaction.objects.visible_to(user, action)
    if user.is_authenticated and user.has_perm(f"customers.{action}_interaction") and not user.sees_everything:
        rows = rows | Interaction.objects.filter(assignee=user)  # a task given to someone is theirs to see
    return rows.select_related("done_by", "assignee", "owner", "contact", "account", "lead")


def _interactions_of(*, record: Account | Contact | Lead, user: Any) -> QuerySet[Interaction]:
    rows = interactions_visible_to(user)
    if isinstance(record, Contact):
        about = Q(contact=record)
        if record.converted_from_id:
            about |= Q(lead_id=record.converted_from_id)
    elif isinstance(record, Account):
        # what was logged with the account's people counts too, as far as the user may see those people
        people = account_contacts(account=record, user=user).values("contact_id")
        about = Q(account=record) | Q(contact__in=people)
    else:
        about = Q(lead=record)
    return rows.filter(about).order_by("-occurred_at", "-id")


def record_interactions(*, record: Account | Contact | Lead, user: Any) -> QuerySet[Interaction]:
    """The interactions logged directly against one record the caller has already found in scope."""
    field = {Contact: "contact", Account: "account", Lead: "lead"}[type(record)]
    return interactions_visible_to(user).filter(**{field: record}).order_by("-occurred_at", "-id")


def tasks_for(*, user: Any, mine: bool = True, open_only: bool = True) -> QuerySet[Interaction]:
    """Tasks in scope, soonest due first: those assigned to or owned by the user, open ones only, unless asked."""
    tasks = interactions_visible_to(user).filter(kind=Interaction.Kind.TASK)
    if mine:
        tasks = tasks.filter(Q(assignee=user) | Q(owner=user))
    if open_only:
        tasks = tasks.filter(completed_at__isnull=True)
    return tasks.order_by("due_at", "id")


@dataclass(frozen=True)
class TimelineItem:
    """One row of a customer's timeline: an interaction or an event, with the time it sorts by."""

    type: str  # "interaction" or "event"
    at: datetime
    interaction: Interaction | None = None
    event: Event | None = None

    @property
    def id(self) -> int:
        row = self.interaction or self.event
        assert row is not None
        return row.pk


def customer_timeline(*, record: Account | Contact | Lead, user: Any) -> list[TimelineItem]:
    """The one merged timeline of a customer the caller has already found in scope, newest first.

    It merges the interactions the user may see (for a contact also those of the lead it was converted
    from; for an account also those of its contacts the user may see) with the record's events (its
    history, and for a converted contact the lead's history). Later apps (deals, tickets, feedback)
    need no change here: what they do to a customer is recorded as an Event on that customer, and so
    appears in this timeline by itself.
    """
    history = contact_history(record) if isinstance(record, Contact) else record_history(record)
    items = [
        TimelineItem("interaction", i.occurred_at, interaction=i) for i in _interactions_of(record=record, user=user)
    ]
    items += [TimelineItem("event", e.occurred_at, event=e) for e in history]
    return sorted(items, key=lambda item: (item.at, item.type == "interaction", item.id), reverse=True)


# --- data quality -----------------------------------------------------------------------------

QUALITY_BUCKETS = 10  # 0–9, 10–19, … 90–100
WORST_LIMIT = 50
_SORTS = {"name", "count", "average"}


def quality_rows(
    *, user: Any, record_type: str, owner_id: int | None = None, team_id: int | None = None
) -> QuerySet[Any]:
    """The records of a type in the user's scope (archived left out), optionally of one owner or team."""
    visible = {"account": accounts_visible_to, "contact": contacts_visible_to, "lead": leads_visible_to}[record_type]
    rows = visible(user)
    if owner_id:
        rows = rows.filter(owner_id=owner_id)
    if team_id:
        rows = rows.filter(team_id=team_id)
    return rows


@dataclass(frozen=True)
class QualityGroup:
    """An owner's or a team's records: how many and their average score."""

    id: int | None
    name: str
    count: int
    average: float


@dataclass(frozen=True)
class QualityField:
    """One weighted check: its weight and how many of the records pass it."""

    key: str
    label: str
    weight: int
    filled: int
    rate: float  # 0–100


@dataclass(frozen=True)
class QualityReport:
    record_type: str
    count: int
    average: float
    distribution: list[tuple[int, int, int]]  # (from, to, records), lowest scores first
    by_owner: list[QualityGroup]
    by_team: list[QualityGroup]
    fields: list[QualityField]
    weights: dict[str, int]


def _groups(rows: QuerySet[Any], key: str, names: dict[int, str], sort: str) -> list[QualityGroup]:
    groups = [
        QualityGroup(row[key], names.get(row[key], "") if row[key] else "", row["n"], round(row["avg"] or 0, 1))
        for row in rows.values(key).annotate(n=Count("pk"), avg=Avg("completeness")).order_by()
    ]
    field = sort.lstrip("-") if sort.lstrip("-") in _SORTS else "average"
    order: dict[str, Any] = {
        "name": lambda g: (g.name == "", g.name.casefold()),
        "count": lambda g: (g.count, g.average),
        "average": lambda g: (g.average, -g.count),
    }
    return sorted(groups, key=order[field], reverse=sort.startswith("-"))


def quality_report(
    *, user: Any, record_type: str, owner_id: int | None = None, team_id: int | None = None, sort: str = "average"
) -> QualityReport:
    """The data-quality figures of one record type in the user's scope: average, spread, by owner, team and field.

    Six aggregate queries whatever the number of records; owners and teams sort by `sort` (`name`,
    `count`, `average`, `-` for descending; the worst average first by default).
    """
    rows = quality_rows(user=user, record_type=record_type, owner_id=owner_id, team_id=team_id)
    per_score = dict(rows.values_list("completeness").annotate(n=Count("pk")).order_by())
    count = sum(per_score.values())
    average = round(sum(score * n for score, n in per_score.items()) / count, 1) if count else 0.0
    width = 100 // QUALITY_BUCKETS
    distribution = []
    for bucket in range(QUALITY_BUCKETS):
        low, high = bucket * width, (bucket + 1) * width - 1 if bucket < QUALITY_BUCKETS - 1 else 100
        distribution.append((low, high, sum(n for score, n in per_score.items() if low <= score <= high)))
    owner_ids = set(rows.values_list("owner_id", flat=True).distinct().order_by()) - {None}
    team_ids = set(rows.values_list("team_id", flat=True).distinct().order_by()) - {None}
    owners = dict(User.objects.filter(pk__in=owner_ids).values_list("pk", "full_name"))
    teams = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "name"))
    weights = quality.weights_for(record_type)
    checks = [check for key, check in quality.CHECKS[record_type].items() if weights.get(key, 0) > 0]
    filled = rows.aggregate(**{check.key: Count("pk", filter=check.condition()) for check in checks}) if checks else {}
    fields = [
        QualityField(
            check.key,
            str(check.label),
            weights[check.key],
            filled[check.key],
            round(100 * filled[check.key] / count, 1) if count else 0.0,
        )
        for check in checks
    ]
    fields.sort(key=lambda f: (f.rate, -f.weight))
    return QualityReport(
        record_type=record_type,
        count=count,
        average=average,
        distribution=distribution,
        by_owner=_groups(rows, "owner_id", owners, sort),
        by_team=_groups(rows, "team_id", teams, sort),
        fields=fields,
        weights=weights,
    )


@dataclass(frozen=True)
class QualityRecord:
    """One record on the worst-first list: its score, what is missing and where to fix it."""

    id: int
    name: str
    score: int
    missing: list[str]
    missing_keys: list[str]
    owner: str
    url: str
    edit_url: str


def quality_worst(
    *, user: Any, record_type: str, owner_id: int | None = None, team_id: int | None = None
) -> QuerySet[Any]:
    """The records of a type in scope, lowest score first, annotated so their missing fields cost no query."""
    rows = quality_rows(user=user, record_type=record_type, owner_id=owner_id, team_id=team_id)
    return quality.with_checks(rows, record_type).order_by("completeness", "id")


def quality_records(rows: Any, *, record_type: str) -> list[QualityRecord]:
    """What the worst-first list shows for each row of `quality_worst` (a page of it)."""
    weights = quality.weights_for(record_type)
    edit = {"account": "account-edit", "contact": "contact-edit", "lead": "lead-edit"}[record_type]
    records = []
    for row in rows:
        result = quality.record_completeness(row, weights)
        records.append(
            QualityRecord(
                row.pk,
                str(row),
                row.completeness,
                result.missing_labels,
                result.missing_keys,
                str(row.owner) if row.owner_id else "",
                row.get_absolute_url(),
                reverse(edit, args=[row.pk]),
            )
        )
    return records


def quality_filter_choices(*, user: Any, record_type: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The owners and teams of the records of a type in the user's scope, for the page's filters."""
    rows = quality_rows(user=user, record_type=record_type)
    owner_ids = rows.filter(owner__isnull=False).values("owner_id").distinct().order_by()
    team_ids = rows.filter(team__isnull=False).values("team_id").distinct().order_by()
    owners = list(User.objects.filter(pk__in=owner_ids).order_by("full_name", "id").values_list("pk", "full_name"))
    teams = list(Team.objects.filter(pk__in=team_ids).order_by("name").values_list("pk", "name"))
    return owners, teams
