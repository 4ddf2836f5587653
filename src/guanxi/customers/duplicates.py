"""The real-time duplicate warning: the records a new contact, account or lead probably repeats.

Every look-up is an indexed equality or prefix match (blocking), and only the few candidates it
returns are compared by name in Python (`comparators.py`). Records the user may not see are still
reported, as "exists, owned by …" with nothing else about them: a rep must not create a duplicate
just because the original is in someone else's hands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from .comparators import (
    SAME,
    SIMILAR_NAME,
    company_key,
    company_similarity,
    email_key,
    name_similarity,
    person_name,
    phone_key,
)
from .models import Account, Contact, Lead
from .registration import registration_normalise

RECORD_TYPES: dict[str, Any] = {"contact": Contact, "account": Account, "lead": Lead}
STRONG = 0.95  # at or above this, saving needs "create anyway"
CANDIDATES = 200  # most rows compared by name per look-up
SAME_NAME_AT_COMPANY = 0.95
BLOCK_PREFIX = 4  # letters of a company's key that candidates must start with


# Rescorers registered by later apps: the dedupe app scores candidates with its estimated model.
Rescorer = Callable[..., None]  # (record_type=, values=, matches=) → None; sets each match's score
_rescorers: list[Rescorer] = []


def rescorer(fn: Rescorer) -> Rescorer:
    """Register a function that scores the candidates again (called with record_type, values and matches)."""
    if fn not in _rescorers:
        _rescorers.append(fn)
    return fn


@dataclass
class DuplicateMatch:
    """One existing record the new one probably repeats, and why."""

    type: str
    pk: int
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    visible: bool = False
    name: str = ""
    url: str = ""
    owner: str = ""

    @property
    def type_label(self) -> str:
        return str(RECORD_TYPES[self.type]._meta.verbose_name)

    @property
    def strong(self) -> bool:
        return self.score >= STRONG

    def add(self, code: str, reason: str, score: float) -> None:
        if code not in self.codes:
            self.codes.append(code)
            self.reasons.append(reason)
        self.score = max(self.score, round(score, 3))


class _Found:
    def __init__(self) -> None:
        self.matches: dict[tuple[str, int], DuplicateMatch] = {}

    def add(self, record_type: str, pks: Iterable[int], code: str, reason: str, score: float) -> None:
        for pk in pks:
            match = self.matches.setdefault((record_type, pk), DuplicateMatch(type=record_type, pk=pk))
            match.add(code, reason, score)


def _live(model: Any) -> QuerySet[Any]:
    return model.objects.filter(archived_at__isnull=True)


def _open_leads() -> QuerySet[Lead]:
    return Lead.objects.filter(archived_at__isnull=True).exclude(status=Lead.Status.CONVERTED)


def _contact_points(found: _Found, values: dict[str, Any]) -> None:
    """Same phone or email, across contacts and open leads alike."""
    phone = phone_key(values.get("phone", ""))
    if phone:
        found.add("contact", _pks(_live(Contact).filter(phone=phone)), "same_phone", _("same phone"), SAME)
        found.add("lead", _pks(_open_leads().filter(phone=phone)), "same_phone", _("same phone"), SAME)
    email = email_key(values.get("email", ""))
    if email:
        found.add("contact", _pks(_live(Contact).filter(email__iexact=email)), "same_email", _("same email"), SAME)
        found.add("lead", _pks(_open_leads().filter(email__iexact=email)), "same_email", _("same email"), SAME)


def _pks(rows: QuerySet[Any]) -> list[int]:
    return list(rows.values_list("pk", flat=True)[:CANDIDATES])


def _people_at(found: _Found, name: str, company: str, candidates: Iterable[tuple[str, int, str]]) -> None:
    """Compare a person's name with the people already recorded at the same company."""
    for record_type, pk, other in candidates:
        if other == name:
            reason = _("same name at %(company)s") % {"company": company}
            found.add(record_type, [pk], "same_name", reason, SAME_NAME_AT_COMPANY)
            continue
        similarity = name_similarity(name, other)
        if similarity >= SIMILAR_NAME:
            reason = _("similar name at %(company)s") % {"company": company}
            found.add(record_type, [pk], "similar_name", reason, similarity * 0.9)


def _companies_like(found: _Found | None, company: str) -> list[tuple[int, str]]:
    """Accounts whose name is the same as or close to `company`, blocked on the start of its pinyin key."""
    key = company_key(company)
    if not key:
        return []
    rows = _live(Account).filter(name_pinyin__startswith=key[:BLOCK_PREFIX]).values_list("pk", "name")
    alike = []
    for pk, name in rows[:CANDIDATES]:
        similarity = company_similarity(company, name)
        if similarity >= SIMILAR_NAME:
            alike.append((pk, name))
            if found is not None:
                code, reason = (
                    ("same_company", _("same company name"))
                    if similarity >= SAME
                    else ("similar_company", _("similar company name"))
                )
                found.add(
                    "account", [pk], code, reason, SAME_NAME_AT_COMPANY if similarity >= SAME else similarity * 0.9
                )
    return alike


def _contacts_at(account_ids: list[int]) -> list[tuple[str, int, str]]:
    rows = _live(Contact).filter(links__account_id__in=account_ids).values_list("pk", "full_name")
    return [("contact", pk, name) for pk, name in rows[:CANDIDATES]]


def _leads_at(company: str) -> list[tuple[str, int, str]]:
    key = company_key(company)
    if not key:
        return []
    rows = (
        _open_leads()
        .filter(company_pinyin__startswith=key[:BLOCK_PREFIX])
        .values_list("pk", "full_name", "company_name")
    )
    return [
        ("lead", pk, name)
        for pk, name, other_company in rows[:CANDIDATES]
        if name and company_similarity(company, other_company) >= SIMILAR_NAME
    ]


def _check_contact(found: _Found, values: dict[str, Any], user: Any) -> None:
    _contact_points(found, values)
    name = person_name(values.get("surname", ""), values.get("given_name", ""))
    account_ids = [int(pk) for pk in values.get("accounts") or [] if str(pk).isdigit()]
    if name and account_ids:
        # only accounts the user may see: a reason names the company
        companies = Account.objects.visible_to(user).filter(archived_at__isnull=True, pk__in=account_ids)
        names = dict(companies.values_list("pk", "name"))
        for account_id, company in names.items():
            _people_at(found, name, company, _contacts_at([account_id]))


def _check_account(found: _Found, values: dict[str, Any], user: Any) -> None:
    try:
        registration = registration_normalise(values.get("registration_number", ""))
    except ValidationError:  # a mistyped number is the form's error, not a match
        registration = ""
    if registration:
        rows = _live(Account).filter(registration_number=registration)
        found.add("account", _pks(rows), "same_registration", _("same registration number"), SAME)
    _companies_like(found, values.get("name", ""))


def _check_lead(found: _Found, values: dict[str, Any], user: Any) -> None:
    _contact_points(found, values)
    name = person_name(values.get("surname", ""), values.get("given_name", ""))
    company = " ".join(str(values.get("company_name", "")).split())
    if not company:
        return
    if not name:  # a company-only lead repeats an account of that name
        _companies_like(found, company)
        return
    accounts = _companies_like(None, company)
    candidates = _leads_at(company) + (_contacts_at([pk for pk, _name in accounts]) if accounts else [])
    _people_at(found, name, company, candidates)


def likely_duplicates(
    *, record_type: str, values: dict[str, Any], user: Any, exclude: Model | None = None, limit: int = 10
) -> list[DuplicateMatch]:
    """The records an unsaved contact, account or lead probably repeats, best match first, with reasons.

    `values` are the form's raw values (phone and email as typed; `accounts`: account ids for a
    contact). A match the user may not see keeps only its type, reasons, score and owner's name.
    """
    found = _Found()
    {"contact": _check_contact, "account": _check_account, "lead": _check_lead}[record_type](found, values, user)
    if exclude is not None:
        found.matches.pop((record_type, exclude.pk), None)
    for rescore in _rescorers:
        rescore(record_type=record_type, values=values, matches=list(found.matches.values()))
    best = sorted(found.matches.values(), key=lambda m: (-m.score, m.type != record_type, m.type, m.pk))[:limit]
    by_type: dict[str, list[DuplicateMatch]] = {}
    for match in best:
        by_type.setdefault(match.type, []).append(match)
    for match_type, matches in by_type.items():
        model = RECORD_TYPES[match_type]
        pks = [m.pk for m in matches]
        visible = set(model.objects.visible_to(user).filter(pk__in=pks).values_list("pk", flat=True))
        records = model.objects.select_related("owner").in_bulk(pks)
        for match in matches:
            record = records[match.pk]
            match.owner = str(record.owner) if record.owner else ""
            if match.pk in visible:
                match.visible, match.name, match.url = True, str(record), record.get_absolute_url()
    return best
