"""Completeness: how much of what matters is filled in on a customer record, from weights an administrator sets.

A record type (account, contact, lead) has a set of `Check`s: some fields all filled in ("province and
city"), or a related row existing ("linked to an account"). Each check has a weight; a record's score
is the weight of the checks it passes over the weight of all checks, 0–100, rounded down, so 100 means
nothing is missing. `completeness()` is the pure function; the services store the score on every write
(`record_completeness`, through `services._save`, and `scores_refresh` when links change), and the
`customers.quality_recompute` job recomputes every record in chunks after a weights change and nightly.

Custom fields plug in through `quality_check(record_type, check)`: register a `Check` subclass whose
`condition()` (SQL) and `present()` (Python) read the custom value, and give its key a weight.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from guanxi.core.jobs import Progress, job_kind
from guanxi.core.models import Job

from .models import Account, Contact, ContactAccount, Lead, QualityWeights, RecordType

CHUNK = 5000
MAX_WEIGHT = 100

RECORD_MODELS: dict[str, type[models.Model]] = {
    RecordType.ACCOUNT: Account,
    RecordType.CONTACT: Contact,
    RecordType.LEAD: Lead,
}


@dataclass(frozen=True)
class Check:
    """One thing that counts towards completeness: every field in `fields` filled, or a related row existing.

    `related` returns a queryset of the related rows of `OuterRef("pk")`; the check holds when one exists.
    """

    key: str
    label: str | Promise
    fields: tuple[str, ...] = ()
    related: Callable[[], QuerySet[Any]] | None = None

    @property
    def annotation(self) -> str:
        return f"has_{self.key}"

    def columns(self) -> tuple[str, ...]:
        """The model columns `present()` reads."""
        return self.fields

    def annotations(self) -> dict[str, Any]:
        """The expressions `present()` reads besides the columns (one EXISTS per related check)."""
        return {self.annotation: Exists(self.related())} if self.related else {}

    def condition(self) -> Q:
        """The check in SQL, for counting how many records pass it."""
        if self.related:
            return Q(Exists(self.related()))
        condition = Q()
        for name in self.fields:
            condition &= Q(**{f"{name}__isnull": False}) & ~Q(**{name: ""})
        return condition

    def present(self, values: Mapping[str, Any]) -> bool:
        """The check in Python, over a row's columns and annotations."""
        if self.related:
            return bool(values.get(self.annotation))
        return all(values.get(name) not in ("", None) for name in self.fields)


def _account_contacts() -> QuerySet[Any]:
    return ContactAccount.objects.filter(account_id=OuterRef("pk"))


def _contact_accounts() -> QuerySet[Any]:
    return ContactAccount.objects.filter(contact_id=OuterRef("pk"))


CHECKS: dict[str, dict[str, Check]] = {
    RecordType.ACCOUNT: {
        c.key: c
        for c in (
            Check("registration_number", _("registration number"), ("registration_number",)),
            Check("industry", _("industry"), ("industry",)),
            Check("size", _("size"), ("size",)),
            Check("place", _("province and city"), ("province", "city")),
            Check("website", _("website"), ("website",)),
            Check("tier", _("tier"), ("tier",)),
            Check("contacts", _("contacts"), related=_account_contacts),
        )
    },
    RecordType.CONTACT: {
        c.key: c
        for c in (
            Check("phone", _("phone"), ("phone",)),
            Check("email", _("email"), ("email",)),
            Check("accounts", _("accounts"), related=_contact_accounts),
            Check("title", _("job title"), ("title",)),
            Check("place", _("province and city"), ("province", "city")),
            Check("street", _("street address"), ("street",)),
        )
    },
    RecordType.LEAD: {
        c.key: c
        for c in (
            Check("name", _("name"), ("full_name",)),
            Check("company_name", _("company"), ("company_name",)),
            Check("phone", _("phone"), ("phone",)),
            Check("email", _("email"), ("email",)),
            Check("source", _("source"), ("source",)),
            Check("notes", _("notes"), ("notes",)),
        )
    },
}

DEFAULT_WEIGHTS: dict[str, dict[str, int]] = {
    RecordType.ACCOUNT: {
        "registration_number": 20,
        "industry": 15,
        "size": 10,
        "place": 15,
        "website": 10,
        "tier": 10,
        "contacts": 20,
    },
    RecordType.CONTACT: {"phone": 25, "email": 25, "accounts": 15, "title": 10, "place": 15, "street": 10},
    RecordType.LEAD: {"name": 15, "company_name": 15, "phone": 25, "email": 25, "source": 10, "notes": 10},
}


def quality_check(record_type: str, check: Check, *, default_weight: int = 0) -> None:
    """Register another check for a record type (the hook for custom fields); it counts once weighted."""
    CHECKS[record_type][check.key] = check
    DEFAULT_WEIGHTS[record_type].setdefault(check.key, default_weight)


def record_type_of(record: models.Model) -> str:
    return str(record._meta.model_name)


# --- weights ----------------------------------------------------------------------------------


def weights_for(record_type: str) -> dict[str, int]:
    """The weight of every check of the record type: as the administrator set it, else the default."""
    stored = QualityWeights.objects.filter(record_type=record_type).values_list("weights", flat=True).first()
    weights = {**DEFAULT_WEIGHTS[record_type], **(stored or {})}
    return {key: int(weights.get(key, 0)) for key in CHECKS[record_type]}


def all_weights() -> dict[str, dict[str, int]]:
    return {record_type: weights_for(record_type) for record_type in RECORD_MODELS}


# --- the score --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Completeness:
    """A record's score and the weighted checks it fails, heaviest first (what to fix)."""

    score: int
    missing: tuple[Check, ...]

    @property
    def missing_labels(self) -> list[str]:
        return [str(check.label) for check in self.missing]

    @property
    def missing_keys(self) -> list[str]:
        return [check.key for check in self.missing]


def completeness(values: Mapping[str, Any], *, record_type: str, weights: Mapping[str, int]) -> Completeness:
    """Score a row (its columns and check annotations) 0–100 under `weights`; 100 only when nothing is missing.

    Checks without weight do not count; a record type with no weighted check scores 100.
    """
    checks = CHECKS[record_type]
    weighted = [(checks[key], weight) for key, weight in weights.items() if key in checks and weight > 0]
    total = sum(weight for _check, weight in weighted)
    missing = [(check, weight) for check, weight in weighted if not check.present(values)]
    if not total:
        return Completeness(100, ())
    got = total - sum(weight for _check, weight in missing)
    missing.sort(key=lambda pair: (-pair[1], pair[0].key))
    return Completeness(100 * got // total, tuple(check for check, _weight in missing))


def score_function(record_type: str, weights: Mapping[str, int]) -> Callable[[Mapping[str, Any]], int]:
    """`completeness(...).score` with the weights worked out once: the recompute scores a million rows with it."""
    checks = CHECKS[record_type]
    weighted = [(checks[key].present, weight) for key, weight in weights.items() if key in checks and weight > 0]
    total = sum(weight for _present, weight in weighted)
    if not total:
        return lambda values: 100

    def score(values: Mapping[str, Any]) -> int:
        return 100 * sum(weight for present, weight in weighted if present(values)) // total

    return score


def new_record_score(record_type: str, *, linked: str = "") -> Callable[[Mapping[str, Any], bool], int]:
    """`score(values, has_link)` for records about to be inserted, from their column values (unset columns at
    their defaults): an import scores its rows before writing them instead of rescoring them after.

    A new record has no related rows but those its writer adds with it: the related check `linked` (a key
    of `CHECKS[record_type]`) holds when the caller says so, every other related check fails.
    """
    weights = weights_for(record_type)
    score_of = score_function(record_type, weights)
    model = RECORD_MODELS[record_type]
    defaults = {
        f.attname: f.get_default() for f in model._meta.concrete_fields if f.has_default() and not callable(f.default)
    }
    annotation = CHECKS[record_type][linked].annotation if linked else ""

    def score(values: Mapping[str, Any], has_link: bool) -> int:
        row = {**defaults, **values}
        if annotation:
            row[annotation] = has_link
        return score_of(row)

    return score


def _annotations(record_type: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for check in CHECKS[record_type].values():
        merged.update(check.annotations())
    return merged


def _columns(record_type: str) -> list[str]:
    return sorted({name for check in CHECKS[record_type].values() for name in check.columns()})


def with_checks(rows: QuerySet[Any], record_type: str) -> QuerySet[Any]:
    """Rows annotated with what the related checks need, so scoring a page of them costs no more queries."""
    return rows.annotate(**_annotations(record_type))


def record_completeness(record: models.Model, weights: Mapping[str, int] | None = None) -> Completeness:
    """The completeness of one record as it is in memory (related checks read from the database)."""
    record_type = record_type_of(record)
    values = {name: getattr(record, name) for name in _columns(record_type)}
    annotations = _annotations(record_type)
    if annotations:
        if hasattr(record, next(iter(annotations))):  # annotated by with_checks
            values.update({name: getattr(record, name) for name in annotations})
        elif record.pk is not None:
            found = type(record)._default_manager.filter(pk=record.pk).values(**annotations).first()
            values.update(found or {})
    return completeness(values, record_type=record_type, weights=weights or weights_for(record_type))


def _rescore(rows: QuerySet[Any], record_type: str, weights: Mapping[str, int]) -> tuple[int, int, int]:
    """Score the rows and store the scores that changed; return (rows read, rows changed, last pk)."""
    model = rows.model
    changed: dict[int, list[int]] = defaultdict(list)
    seen = last = 0
    fields = ["pk", "completeness", *_columns(record_type)]
    score_of = score_function(record_type, weights)
    for values in rows.annotate(**_annotations(record_type)).values(*fields, *_annotations(record_type)):
        seen, last = seen + 1, values["pk"]
        score = score_of(values)
        if score != values["completeness"]:
            changed[score].append(values["pk"])
    # one UPDATE per distinct score: a chunk holds few distinct scores, and this is far cheaper than a
    # CASE over every primary key (bulk_update), which both databases evaluate row by row
    for score, pks in changed.items():
        model._default_manager.filter(pk__in=pks).update(completeness=score)
    return seen, sum(len(pks) for pks in changed.values()), last


def scores_refresh(model: type[models.Model], pks: Iterable[int]) -> int:
    """Recompute and store the scores of these records (after a change their fields do not show, e.g. links)."""
    ids = sorted(set(pks))
    if not ids:
        return 0
    record_type = str(model._meta.model_name)
    return _rescore(model._default_manager.filter(pk__in=ids), record_type, weights_for(record_type))[1]


def scores_recompute(
    record_type: str, *, weights: Mapping[str, int] | None = None, chunk: int = CHUNK, on_chunk: Callable[[int], None]
) -> dict[str, int]:
    """Recompute every record of a type in primary-key chunks, each in its own short transaction.

    Rows are locked while their chunk is scored (on PostgreSQL), so an edit in between cannot be
    overwritten with a stale score.
    """
    model = RECORD_MODELS[record_type]
    weights = weights or weights_for(record_type)
    manager = model._default_manager
    last, records, changed = 0, 0, 0
    while True:
        with transaction.atomic():
            upper = manager.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[chunk - 1 : chunk].first()
            rows = manager.filter(pk__gt=last).order_by("pk")
            rows = rows.filter(pk__lte=upper) if upper is not None else rows
            seen, moved, last_pk = _rescore(rows.select_for_update(of=("self",)), record_type, weights)
        records, changed = records + seen, changed + moved
        on_chunk(records)
        if upper is None or not seen:
            break
        last = last_pk
    return {"records": records, "changed": changed}


@job_kind(
    "customers.quality_recompute",
    gettext_noop("Data-quality scores"),
    permission="customers.change_qualityweights",
)
def quality_recompute(job: Job, progress: Progress) -> dict[str, Any]:
    """Recompute the completeness of every account, contact and lead (or the record types in `params`)."""
    record_types = [t for t in job.params.get("record_types") or list(RECORD_MODELS) if t in RECORD_MODELS]
    total = sum(RECORD_MODELS[t]._default_manager.count() for t in record_types)
    progress(0, total, "")
    result: dict[str, Any] = {}
    done = 0
    for record_type in record_types:

        def on_chunk(records: int, *, before: int = done, label: str = record_type) -> None:
            progress(before + records, max(total, before + records), label)

        result[record_type] = scores_recompute(record_type, on_chunk=on_chunk)
        done += result[record_type]["records"]
    return result
