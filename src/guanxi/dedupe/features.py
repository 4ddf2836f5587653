"""Contacts, accounts and leads as the matching engine reads them: one row of features per record.

The CRM's comparisons and blocking rules are defined here (the comparators themselves are in
`customers.comparators`, shared with the real-time duplicate warning). Reading goes through
`values_list` in primary-key chunks, never model instances, so a million records fit in memory.

People (contacts, and leads with a person's name) are compared with people, across types: a lead who is
already a contact is found. Companies (accounts, and leads with only a company name) with companies.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.core.bulk import insert_rows
from guanxi.customers import comparators as cmp
from guanxi.customers.models import Account, Contact, ContactAccount, Lead

from .matching import BlockingRule, Comparison, Records, factorize
from .models import BlockKey

PERSON, COMPANY = "person", "company"
CHUNK = 20_000


def _same(value: Any) -> Any:
    return value


def _name_text(feature: tuple[str, str, str, str]) -> str:
    return feature[0]


COMPARISONS = [
    Comparison("name", "name", cmp.name_level, exact_value=_name_text, vector=cmp.name_levels),
    Comparison("phone", "phone", cmp.phone_level, exact_value=_same, vector=cmp.phone_levels),
    Comparison("email", "email", cmp.email_level, exact_value=_same, vector=cmp.email_levels),
    Comparison("company", "company", cmp.company_level, exact_value=_same, vector=cmp.company_levels),
    Comparison("registration", "registration", cmp.exact_level, exact_value=_same, vector=cmp.exact_levels),
    Comparison("address", "address", cmp.address_level, vector=cmp.address_levels),
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


def _by_ids(queryset: Any, fields: tuple[str, ...], ids: list[int]) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of `fields` of these records, in primary-key order, a thousand ids a query."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), 1000):
        yield list(queryset.filter(pk__in=ordered[start : start + 1000]).order_by("pk").values_list(*fields))


ACCOUNT_FIELDS = ("pk", "name", "registration_number", "city", "updated_at")
CONTACT_FIELDS = ("pk", "full_name", "phone", "email", "city", "street", "updated_at")
LEAD_FIELDS = ("pk", "full_name", "phone", "email", "company_name", "updated_at")


def _bases() -> dict[str, Any]:
    """The records a run matches: live contacts and accounts, leads neither archived nor converted."""
    return {
        "account": Account.objects.filter(archived_at__isnull=True),
        "contact": Contact.objects.filter(archived_at__isnull=True),
        "lead": Lead.objects.filter(archived_at__isnull=True).exclude(status=Lead.Status.CONVERTED),
    }


def _add_rows(builder: RecordsBuilder, kind: str, rows: list[tuple[Any, ...]], fresh: Callable[[Any], bool]) -> None:
    if kind == "account":
        for pk, name, registration, city, updated in rows:
            builder.add(f"account:{pk}", company=name, registration=registration or "", city=city, fresh=fresh(updated))
    elif kind == "contact":
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
                fresh=fresh(updated),
            )
    else:
        for pk, name, phone, email, company, updated in rows:
            builder.add(f"lead:{pk}", name=name, phone=phone, email=email, company=company, fresh=fresh(updated))


FIELDS = {"account": ACCOUNT_FIELDS, "contact": CONTACT_FIELDS, "lead": LEAD_FIELDS}


def load_records(
    *,
    since: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    keys_stored: bool = False,
) -> tuple[Records, int]:
    """The records to match and how many of them are fresh.

    Full run (`since` None): every live contact, account and open lead, all fresh. Incremental: the records
    changed after `since` are fresh; with `keys_stored` (the last run wrote `BlockKey`) only they and the
    records sharing a blocking key with them are read, otherwise every record (the fresh ones marked)."""
    say = progress or (lambda done, total: None)
    bases = _bases()
    builder = RecordsBuilder()
    if since is not None and keys_stored:
        changed = {kind: base.filter(updated_at__gt=since) for kind, base in bases.items()}
        total = sum(qs.count() for qs in changed.values())
        for kind, queryset in changed.items():
            for rows in _chunks(queryset, FIELDS[kind]):
                _add_rows(builder, kind, rows, lambda _updated: True)
                say(len(builder.keys), total)
        fresh_count = len(builder.keys)
        sharing = _sharing_keys(builder.records(incremental=True))
        for kind, ids in sharing.items():
            for rows in _by_ids(bases[kind], FIELDS[kind], ids):
                if rows:
                    _add_rows(builder, kind, rows, lambda _updated: False)
        return builder.records(incremental=True), fresh_count
    total = sum(qs.count() for qs in bases.values())
    fresh_count = 0

    def is_fresh(updated: datetime | None) -> bool:
        nonlocal fresh_count
        fresh = since is None or (updated is not None and updated > since)
        fresh_count += fresh
        return fresh

    for kind, queryset in bases.items():
        for rows in _chunks(queryset, FIELDS[kind]):
            _add_rows(builder, kind, rows, is_fresh)
            say(len(builder.keys), total)
    return builder.records(incremental=since is not None), fresh_count


def key_hash(rule: str, key: str) -> int:
    """A blocking key as a signed 64-bit number (`BlockKey.key`), the same in every process."""
    digest = hashlib.blake2b(f"{rule}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _key_rows(records: Records, *, only_fresh: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(hash, record index) of every blocking key of the records (of the fresh ones only); each distinct key
    is hashed once."""
    fresh = np.asarray(records.fresh, dtype=bool) if only_fresh and records.fresh is not None else None
    hashes: list[np.ndarray] = []
    indexes: list[np.ndarray] = []
    for rule in RULES:
        column = records.blocks[rule.name]
        if any(isinstance(value, tuple) for value in column):
            pairs = {
                (key_hash(rule.name, one), i)
                for i, value in enumerate(column)
                if value and (fresh is None or fresh[i])
                for one in value
            }
            hashes.append(np.asarray([h for h, _i in pairs], dtype=np.int64))
            indexes.append(np.asarray([i for _h, i in pairs], dtype=np.int64))
            continue
        codes, values = factorize(column)
        of_value = np.asarray([key_hash(rule.name, v) if v else 0 for v in values], dtype=np.int64)
        present = np.asarray([bool(v) for v in values], dtype=bool)[codes]
        if fresh is not None:
            present &= fresh
        chosen = np.flatnonzero(present)
        hashes.append(of_value[codes[chosen]])
        indexes.append(chosen)
    if not hashes:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(hashes), np.concatenate(indexes)


def block_keys(records: Records, *, only_fresh: bool = False) -> Iterator[tuple[int, str, int]]:
    """(hash, record type, record id) of every blocking key of the records (of the fresh ones only)."""
    hashes, indexes = _key_rows(records, only_fresh=only_fresh)
    keys = records.keys
    for code, i in zip(hashes.tolist(), indexes.tolist(), strict=True):
        kind, _colon, pk = keys[i].partition(":")
        yield code, kind, int(pk)


def _sharing_keys(fresh: Records) -> dict[str, list[int]]:
    """The ids, per record type, of the records that are not among `fresh` and share a key with one of them."""
    codes = sorted({code for code, _kind, _pk in block_keys(fresh)})
    known = set(fresh.keys)
    found: dict[str, set[int]] = {"account": set(), "contact": set(), "lead": set()}
    for start in range(0, len(codes), 1000):
        rows = BlockKey.objects.filter(key__in=codes[start : start + 1000]).values_list("record_type", "record_id")
        for kind, pk in rows:
            if kind in found and f"{kind}:{pk}" not in known:
                found[kind].add(pk)
    return {kind: sorted(ids) for kind, ids in found.items() if ids}


def block_keys_store(records: Records, *, replace_all: bool) -> int:
    """Write the records' blocking keys for the next incremental run: all of them (a full run), or the fresh
    records' keys in place of their old ones. Returns how many keys were written. PostgreSQL: the table is
    emptied by TRUNCATE and written by COPY of text made in large pieces (millions of keys in seconds)."""
    with transaction.atomic():
        if not replace_all:
            refs: dict[str, list[int]] = defaultdict(list)
            for i, key in enumerate(records.keys):
                if records.fresh is None or records.fresh[i]:
                    kind, _colon, pk = key.partition(":")
                    refs[kind].append(int(pk))
            for kind, ids in refs.items():
                for start in range(0, len(ids), 1000):
                    BlockKey.objects.filter(record_type=kind, record_id__in=ids[start : start + 1000]).delete()
        if connection.vendor != "postgresql":
            if replace_all:
                BlockKey.objects.all().delete()
            rows = block_keys(records, only_fresh=not replace_all)
            return insert_rows(model=BlockKey, fields=["key", "record_type", "record_id"], rows=rows)
        hashes, indexes = _key_rows(records, only_fresh=not replace_all)
        keys = records.keys
        table = connection.ops.quote_name(BlockKey._meta.db_table)
        with connection.cursor() as cursor:
            if replace_all:
                cursor.execute(f"TRUNCATE {table}")
            with cursor.cursor.copy(f"COPY {table} (key, record_type, record_id) FROM STDIN") as copy:
                for start in range(0, len(hashes), 100_000):
                    end = start + 100_000
                    part = zip(hashes[start:end].tolist(), indexes[start:end].tolist(), strict=True)
                    copy.write("".join(f"{code}\t{keys[i].replace(':', chr(9), 1)}\n" for code, i in part))
        return len(hashes)


def _companies_of(contact_ids: list[int]) -> dict[int, str]:
    """Each contact's first linked account's name (its employer, for comparing people). Many ids (a chunk of
    the full read) are asked as their range, one condition instead of a list of thousands."""
    links = ContactAccount.objects.filter(account__archived_at__isnull=True)
    if len(contact_ids) > 1000:
        links = links.filter(contact_id__gte=min(contact_ids), contact_id__lte=max(contact_ids))
    else:
        links = links.filter(contact_id__in=contact_ids)
    rows = links.order_by("contact_id", "pk").values_list("contact_id", "account__name")
    found: dict[int, str] = {}
    for contact_id, name in rows.iterator(chunk_size=5000):
        found.setdefault(contact_id, name)
    return found
