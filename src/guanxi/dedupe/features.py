"""Contacts, accounts and leads as the matching engine reads them: one row of features per record.

The CRM's comparisons and blocking rules are defined here (the comparators themselves are in
`customers.comparators`, shared with the real-time duplicate warning). Reading goes through
`values_list` in primary-key chunks, never model instances, so a million records fit in memory.

People (contacts, and leads with a person's name) are compared with people, across types: a lead who is
already a contact is found. Companies (accounts, and leads with only a company name) with companies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.customers import comparators as cmp
from guanxi.customers.models import Account, Contact, ContactAccount, Lead

from .matching import BlockingRule, Comparison, Records

PERSON, COMPANY = "person", "company"
CHUNK = 20_000


def _same(value: Any) -> Any:
    return value


def _name_text(feature: tuple[str, str, str, str]) -> str:
    return feature[0]


COMPARISONS = [
    Comparison("name", "name", cmp.name_level, exact_value=_name_text),
    Comparison("phone", "phone", cmp.phone_level, exact_value=_same),
    Comparison("email", "email", cmp.email_level, exact_value=_same),
    Comparison("company", "company", cmp.company_level, exact_value=_same),
    Comparison("registration", "registration", cmp.exact_level, exact_value=_same),
    Comparison("address", "address", cmp.address_level),
]

RULES = [
    BlockingRule("phone", uses=("phone",)),
    BlockingRule("email", uses=("email",)),
    BlockingRule("registration", uses=("registration",)),
    BlockingRule("company", uses=("company",)),
    # a pinyin key matches at several name levels: its pairs leave "name" out of EM, but give no prior
    BlockingRule("name_key", uses=("name",), exact=False),
    BlockingRule("name_sorted", uses=("name",), exact=False),
    BlockingRule("initials_city", uses=("name", "address"), exact=False),
]

# how the review page names a field and a level of `reasons` (stored as codes, translated when shown)
FIELD_LABELS = {
    "name": _("Name"),
    "phone": _("Phone"),
    "email": _("Email"),
    "company": _("Company"),
    "registration": _("Registration number"),
    "address": _("Address"),
}
LEVEL_LABELS = {
    "exact": pgettext_lazy("match level", "same"),
    "same_sound": pgettext_lazy("match level", "same pinyin"),
    "close": pgettext_lazy("match level", "close"),
    "similar": pgettext_lazy("match level", "similar"),
    "different": pgettext_lazy("match level", "different"),
    "one_digit": pgettext_lazy("match level", "one digit off"),
    "same_city": pgettext_lazy("match level", "same city"),
    "one_edit": pgettext_lazy("match level", "one typo"),
    "two_edits": pgettext_lazy("match level", "two typos"),
    "same_year": pgettext_lazy("match level", "same year"),
}


def reason_label(field: str, level: str) -> str:
    """ "Phone: one digit off" in the user's language, for a field's level in a cluster's reasons."""
    return f"{FIELD_LABELS.get(field, field)}: {LEVEL_LABELS.get(level, level)}"


class RecordsBuilder:
    """Collects records row by row into the engine's columns."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.group: list[str] = []
        self.sort: list[str] = []
        self.fresh: list[bool] = []
        self.features: dict[str, list[Any]] = {c.name: [] for c in COMPARISONS}
        self.blocks: dict[str, list[Any]] = {r.name: [] for r in RULES}

    def add(
        self,
        key: str,
        *,
        name: str = "",
        phone: str = "",
        email: str = "",
        company: str = "",
        registration: str = "",
        city: str = "",
        street: str = "",
        fresh: bool = False,
    ) -> None:
        names = cmp.name_features(name)
        phone_e164 = cmp.phone_features(phone)
        mailbox = cmp.email_canonical(email)
        company_key = cmp.company_features(company)
        registration = (registration or "").strip().upper()
        address = cmp.address_features(city, street)
        group = PERSON if names[0] else COMPANY
        self.keys.append(key)
        self.group.append(group)
        self.fresh.append(fresh)
        self.sort.append(f"{names[2]}|{company_key}|{phone_e164}")
        features = self.features
        features["name"].append(names)
        features["phone"].append(phone_e164)
        features["email"].append(mailbox)
        features["company"].append(company_key)
        features["registration"].append(registration)
        features["address"].append(address)
        blocks = self.blocks
        blocks["phone"].append(phone_e164)
        blocks["email"].append(mailbox)
        blocks["registration"].append(registration)
        blocks["company"].append(company_key if group == COMPANY or not names[0] else "")
        blocks["name_key"].append(names[1] and f"{names[1]}")
        blocks["name_sorted"].append(names[2] and f"{names[2]}")
        blocks["initials_city"].append(names[3] and address[0] and f"{names[3]}|{address[0]}")

    def records(self, *, incremental: bool) -> Records:
        return Records(
            keys=self.keys,
            group=self.group,
            features=self.features,
            blocks=self.blocks,
            sort=self.sort,
            fresh=self.fresh if incremental else None,
        )


def _chunks(queryset: Any, fields: tuple[str, ...]) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of `fields` (the first is the primary key) in primary-key order, CHUNK at a time."""
    last = 0
    while True:
        rows = list(queryset.filter(pk__gt=last).order_by("pk").values_list(*fields)[:CHUNK])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def load_records(
    *, since: datetime | None = None, progress: Callable[[int, int], None] | None = None
) -> tuple[Records, int]:
    """Every live contact, account and open lead as engine records; `since`: those changed after it are
    fresh (an incremental run). Returns the records and how many are fresh."""
    say = progress or (lambda done, total: None)
    contacts = Contact.objects.filter(archived_at__isnull=True)
    accounts = Account.objects.filter(archived_at__isnull=True)
    leads = Lead.objects.filter(archived_at__isnull=True).exclude(status=Lead.Status.CONVERTED)
    total = contacts.count() + accounts.count() + leads.count()
    builder = RecordsBuilder()
    fresh_count = 0
    done = 0

    def is_fresh(updated: datetime | None) -> bool:
        nonlocal fresh_count
        fresh = since is None or (updated is not None and updated > since)
        fresh_count += fresh
        return fresh

    for rows in _chunks(accounts, ("pk", "name", "registration_number", "city", "updated_at")):
        for pk, name, registration, city, updated in rows:
            builder.add(
                f"account:{pk}", company=name, registration=registration or "", city=city, fresh=is_fresh(updated)
            )
        done += len(rows)
        say(done, total)
    fields = ("pk", "full_name", "phone", "email", "city", "street", "updated_at")
    for rows in _chunks(contacts, fields):
        companies = _companies_of([row[0] for row in rows])
        for pk, name, phone, email, city, street, updated in rows:
            builder.add(
                f"contact:{pk}",
                name=name,
                phone=phone,
                email=email,
                company=companies.get(pk, ""),
                city=city,
                street=street,
                fresh=is_fresh(updated),
            )
        done += len(rows)
        say(done, total)
    for rows in _chunks(leads, ("pk", "full_name", "phone", "email", "company_name", "updated_at")):
        for pk, name, phone, email, company, updated in rows:
            builder.add(f"lead:{pk}", name=name, phone=phone, email=email, company=company, fresh=is_fresh(updated))
        done += len(rows)
        say(done, total)
    return builder.records(incremental=since is not None), fresh_count if since is not None else len(builder.keys)


def _companies_of(contact_ids: list[int]) -> dict[int, str]:
    """Each contact's first linked account's name (its employer, for comparing people)."""
    rows = (
        ContactAccount.objects.filter(contact_id__in=contact_ids, account__archived_at__isnull=True)
        .order_by("contact_id", "pk")
        .values_list("contact_id", "account__name")
    )
    found: dict[int, str] = {}
    for contact_id, name in rows:
        found.setdefault(contact_id, name)
    return found
