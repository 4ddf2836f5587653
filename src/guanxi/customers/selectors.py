"""Every read of customer records, scoped to the user who asks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from guanxi.core.models import Event
from guanxi.core.selectors import object_history

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


def accounts_visible_to(user: Any, action: str = "view") -> QuerySet[Account]:
    """Accounts the user may `action`, archived ones left out."""
    return Account.objects.visible_to(user, action).filter(archived_at__isnull=True).select_related("owner", "team")


def contacts_visible_to(user: Any, action: str = "view") -> QuerySet[Contact]:
    """Contacts the user may `action`, archived ones left out, with their account links."""
    links = Prefetch("links", queryset=ContactAccount.objects.select_related("account").order_by("id"))
    return (
        Contact.objects.visible_to(user, action)
        .filter(archived_at__isnull=True)
        .select_related("owner", "team")
        .prefetch_related(links)
    )


def leads_visible_to(user: Any, action: str = "view") -> QuerySet[Lead]:
    """Leads the user may `action`, archived ones left out."""
    return (
        Lead.objects.visible_to(user, action)
        .filter(archived_at__isnull=True)
        .select_related("owner", "team", "converted_contact")
    )


def account_contacts(*, account: Account, user: Any) -> QuerySet[ContactAccount]:
    """The links from contacts the user may see to this account."""
    visible = contacts_visible_to(user).values("pk")
    return account.contact_links.filter(contact__in=visible).select_related("contact").order_by("contact__full_name")


def contact_history(contact: Contact) -> QuerySet[Event]:
    """The contact's own events and, for a converted lead, the lead's events before it."""
    events = object_history(contact)
    if contact.converted_from_id:
        lead_events = object_history(contact.converted_from)
        return (events | lead_events).order_by("-id")
    return events


def record_history(record: Any) -> QuerySet[Event]:
    """The history panel of an account or lead the caller has already found in scope."""
    return object_history(record)


# --- search -----------------------------------------------------------------------------------
# Tiered and indexed: see search.py. Every tier runs inside the user's scope.


def contacts_search(*, user: Any, q: str, cap: int = SEARCH_CAP) -> Any:
    """Contacts in scope by name, pinyin (张伟 = zhangwei = zw), phone fragment, email or company name."""
    rows = contacts_visible_to(user)
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


def accounts_search(*, user: Any, q: str, cap: int = SEARCH_CAP) -> Any:
    """Accounts in scope by name, pinyin, pinyin initials or registration number."""
    rows = accounts_visible_to(user)
    q = clean_query(q)
    if not q:
        return rows
    exact, prefix, parts = name_tiers(q, name="name", pinyin="name_pinyin", initials="name_initials")
    registration = "".join(q.split()).upper()
    exact |= Q(registration_number=registration)
    tiers: list[Tier] = [exact, prefix, contains(rows, [*parts, ("registration_number", registration, False)])]
    return RankedRows(rows, tiers, ("name", "id"), user=user, cap=cap)


def leads_search(*, user: Any, q: str, cap: int = SEARCH_CAP) -> Any:
    """Leads in scope by person or company name (with pinyin), phone fragment or email."""
    rows = leads_visible_to(user)
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
    """One search box over contacts, accounts and leads in scope; best matches first."""
    if not (q or "").strip():
        return []
    hits: list[SearchHit] = []
    for contact in contacts_search(user=user, q=q, cap=limit)[:limit]:
        rank = contact.search_rank
        companies = ", ".join(link.account.name for link in contact.links.all())
        hits.append(SearchHit("contact", contact.pk, contact.full_name, companies, contact.get_absolute_url(), rank))
    for account in accounts_search(user=user, q=q, cap=limit)[:limit]:
        rank = account.search_rank
        hits.append(SearchHit("account", account.pk, account.name, account.city, account.get_absolute_url(), rank))
    for lead in leads_search(user=user, q=q, cap=limit)[:limit]:
        rank = lead.search_rank
        name = lead.full_name or lead.company_name
        detail = lead.company_name if lead.full_name else ""
        hits.append(SearchHit("lead", lead.pk, name, detail, lead.get_absolute_url(), rank))
    order = {"contact": 0, "account": 1, "lead": 2}
    return sorted(hits, key=lambda h: (h.rank, order[h.type], h.name))


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
