"""Importing contacts, accounts and leads: mapping targets, row cleaning, duplicate flags, the fast writer, undo.

Rows are cleaned by the same functions the services use (`services.contact_clean` and friends), so an
imported record is exactly what the same values typed into a form would give. The writer inserts
cleaned rows in chunks (COPY on PostgreSQL, `bulk_create` elsewhere), stamps each record with its
batch and writes one `created` event per record in bulk; the caller holds one transaction around
the whole file.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from psycopg.types.json import Jsonb

from guanxi.core import customfields
from guanxi.core.bulk import insert_rows
from guanxi.core.imports import (
    CheckResult,
    CleanedWriter,
    Duplicate,
    ImportType,
    RowProblem,
    cleaned_fingerprint,
    import_type,
    mapped_rows,
)
from guanxi.core.imports import cleaned_chunks as stored_chunks
from guanxi.core.models import Event, ImportBatch, Team, User

from . import quality, services
from .models import Account, Contact, ContactAccount, Interaction, Lead
from .names import split_full_name

CHUNK = 5000
Progress = Callable[[int, int | None, str], None]

# Extra mapping targets: fn(record_type) -> {field: label}; their values reach `extra_values` of the cleaned
# row. The custom fields registered below are cleaned by `_CustomValues` into the record's `custom` column.
TARGET_PROVIDERS: list[Callable[[str], dict[str, Any]]] = []


def _custom_targets(record_type: str) -> dict[str, Any]:
    """The record type's active custom fields as mapping targets, named `custom_<key>` as in forms and the API."""
    return {cf.form_name: cf.display_label for cf in customfields.active_fields(record_type.rpartition(".")[2])}


TARGET_PROVIDERS.append(_custom_targets)


def _targets(record_type: str, builtin: dict[str, Any]) -> dict[str, Any]:
    targets = dict(builtin)
    for provider in TARGET_PROVIDERS:
        targets.update(provider(record_type))
    return targets


def contact_targets() -> dict[str, Any]:
    return _targets(
        "customers.contact",
        {
            "full_name": _("Name (surname and given name together)"),
            "surname": _("Surname"),
            "given_name": _("Given name"),
            "phone": _("Phone"),
            "email": _("Email"),
            "title": _("Job title"),
            "company": _("Company (account)"),
            "role": _("Role at the company"),
            "province": _("Province"),
            "city": _("City"),
            "district": _("District"),
            "street": _("Street address"),
            "owner": _("Owner (email of a user)"),
        },
    )


def account_targets() -> dict[str, Any]:
    return _targets(
        "customers.account",
        {
            "name": _("Company name"),
            "registration_number": _("Registration number"),
            "industry": _("Industry"),
            "size": _("Size"),
            "province": _("Province"),
            "city": _("City"),
            "district": _("District"),
            "website": _("Website"),
            "tier": _("Tier"),
            "owner": _("Owner (email of a user)"),
        },
    )


def lead_targets() -> dict[str, Any]:
    return _targets(
        "customers.lead",
        {
            "full_name": _("Name (surname and given name together)"),
            "surname": _("Surname"),
            "given_name": _("Given name"),
            "company_name": _("Company"),
            "phone": _("Phone"),
            "email": _("Email"),
            "source": _("Source"),
            "status": _("Status"),
            "notes": _("Notes"),
            "owner": _("Owner (email of a user)"),
        },
    )


# --- cleaning one row -------------------------------------------------------------------------


@dataclass(slots=True)
class Cleaned:
    """One row after cleaning: the new record's values (attribute → value), its errors, and what the writer
    needs besides; `cells` is the row as read, for the error file."""

    number: int
    cells: list[str]
    values: dict[str, Any]
    errors: dict[str, list[str]]
    company: str = ""
    role: str = ""
    owner_email: str = ""
    extra_values: dict[str, str] = field(default_factory=dict)


def _names(values: dict[str, str]) -> dict[str, str]:
    surname, given = values.pop("surname", ""), values.pop("given_name", "")
    full = values.pop("full_name", "")
    if full and not surname and not given:
        surname, given = split_full_name(full)
    return {"surname": surname, "given_name": given}


def _choice(value: str, choices: Any) -> str:
    """A choice typed as its code or its label (in the current language or English); unknown stays as typed."""
    folded = value.strip().casefold()
    if not folded:
        return ""
    with translation.override("en"):
        english = {str(label).casefold(): code for code, label in choices}
    for code, label in choices:
        if folded in (str(code).casefold(), str(label).casefold()):
            return str(code)
    return str(english.get(folded, value))


def _builtin_fields(record_type: str) -> frozenset[str]:
    targets = {"customers.contact": contact_targets, "customers.account": account_targets}.get(
        record_type, lead_targets
    )()
    provided = {name for provider in TARGET_PROVIDERS for name in provider(record_type)}
    return frozenset(targets) - provided


_NAME_PARTS = ("surname", "given_name", "full_name")
_WRITER_ONLY = ("company", "role", "owner")


def _clean_row(
    record_type: str, values: dict[str, str], builtin: frozenset[str]
) -> tuple[dict[str, Any], dict[str, list[str]], dict[str, str]]:
    """One mapped row cleaned by the services' own cleaning (`contact_values` …): (values, errors, extra values)."""
    known = {k: v for k, v in values.items() if k in builtin and k not in _WRITER_ONLY}
    extra = {k: v for k, v in values.items() if k not in builtin and k not in _WRITER_ONLY}
    if record_type == "customers.contact":
        fields = {k: v for k, v in known.items() if k not in _NAME_PARTS}
        fields.update(_names(known))
        cleaned, errors = services.contact_values(fields)
    elif record_type == "customers.account":
        fields = dict(known)
        if "size" in fields:
            fields["size"] = _choice(fields["size"], Account.Size.choices)
        if "tier" in fields:
            fields["tier"] = _choice(fields["tier"], Account.Tier.choices)
        cleaned, errors = services.account_values(fields)
    else:
        fields = {k: v for k, v in known.items() if k not in _NAME_PARTS}
        fields.update(_names(known))
        if "source" in fields:
            fields["source"] = _choice(fields["source"], Lead.Source.choices)
        if "status" in fields:
            fields["status"] = _choice(fields["status"], Lead.Status.choices) or Lead.Status.NEW.value
        cleaned, errors = services.lead_values(fields)
    return cleaned, errors, extra


class _CustomValues:
    """Custom-field values and the administrator's required-field rules, checked on each row as forms check
    them (`core.customfields`), with the definitions read once per file."""

    def __init__(self, record_type: str) -> None:
        short = record_type.rpartition(".")[2]
        self.fields = customfields.active_fields(short)
        self.required = customfields.required_builtin_fields(short)
        self.model = RECORD_MODELS[record_type]
        self.seen: dict[str, set[str]] = {cf.key: set() for cf in self.fields if cf.unique}

    def __bool__(self) -> bool:
        return bool(self.fields or self.required)

    def clean(self, cleaned: dict[str, Any], extra: dict[str, str], errors: dict[str, list[str]]) -> None:
        for name in self.required:
            if name not in errors and cleaned.get(name) in ("", None):
                errors.setdefault(name, []).append(_("This field is required."))
        custom: dict[str, Any] = {}
        for cf in self.fields:
            try:
                value = customfields.custom_value_clean(cf, extra.get(cf.form_name, ""))
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    errors.setdefault(name, []).extend(messages)
                continue
            if value is None:
                if cf.required:
                    errors.setdefault(cf.form_name, []).append(
                        _("%(label)s is required.") % {"label": cf.display_label}
                    )
                continue
            if cf.unique and self._taken(cf, value):
                errors.setdefault(cf.form_name, []).append(
                    _("Another record already has this %(label)s.") % {"label": cf.display_label}
                )
                continue
            custom[cf.key] = value
        if custom:
            cleaned["custom"] = custom

    def _taken(self, cf: Any, value: Any) -> bool:
        folded = str(value).casefold()
        if folded in self.seen[cf.key]:
            return True
        self.seen[cf.key].add(folded)
        rows = self.model._default_manager.filter(customfields.equals(cf, value, ignore_case=True))
        return bool(rows.exists())


def _clean_chunks(batch: ImportBatch) -> Iterator[list[Cleaned]]:
    builtin = _builtin_fields(batch.record_type)  # once per file: the labels are translated on each call
    custom = _CustomValues(batch.record_type)
    is_contact = batch.record_type == "customers.contact"
    chunk: list[Cleaned] = []
    for number, cells, values, problems in mapped_rows(batch):
        company = values.get("company", "") if is_contact else ""
        role = values.get("role", "")
        owner = values.get("owner", "").strip().lower()
        cleaned, errors, extra = _clean_row(batch.record_type, values, builtin)
        if custom:
            custom.clean(cleaned, extra, errors)
        for problem in problems:
            errors.setdefault(problem.field, []).insert(0, problem.message)
        chunk.append(Cleaned(number, cells, cleaned, errors, company, role, owner, extra))
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _fingerprint(batch: ImportBatch) -> str:
    return cleaned_fingerprint(batch, sorted(_builtin_fields(batch.record_type)), "customers/1")


def cleaned_chunks(batch: ImportBatch, *, keep: bool = False) -> Iterator[list[Cleaned]]:
    """Every data row of the batch's file in chunks, cleaned as the services clean a typed record.

    The dry run (`keep`) stores what it cleaned next to the file; the run reads that back instead of
    cleaning again, as long as the file, the mapping and the language are the same.
    """
    fingerprint = _fingerprint(batch)
    if not keep:
        stored = stored_chunks(batch, fingerprint)
        if stored is not None:
            for rows in stored:
                yield [Cleaned(*row) for row in rows]
            return
    writer = CleanedWriter(batch, fingerprint) if keep else None
    try:
        for chunk in _clean_chunks(batch):
            if writer is not None:  # stored before the checks against the database add their errors
                writer.chunk([astuple_cleaned(row) for row in chunk])
            yield chunk
    except BaseException:
        if writer is not None:
            writer.abandon()
        raise
    if writer is not None:
        writer.close()


def astuple_cleaned(row: Cleaned) -> tuple[Any, ...]:
    return (row.number, row.cells, row.values, row.errors, row.company, row.role, row.owner_email, row.extra_values)


def cleaned_rows(batch: ImportBatch) -> Iterator[Cleaned]:
    """Every data row of the batch's file, cleaned as the services clean a typed record."""
    for chunk in cleaned_chunks(batch):
        yield from chunk


# --- owners -----------------------------------------------------------------------------------


class Owners:
    """Who may own what the actor imports: the actor, or users in the actor's scope (anyone for admins)."""

    def __init__(self, actor: User) -> None:
        self.actor = actor
        self.by_email: dict[str, tuple[User | None, Team | None]] = {}
        self.default_team = actor.teams.order_by("id").first()

    def resolve(self, emails: set[str]) -> None:
        missing = {e for e in emails if e and e not in self.by_email}
        if not missing:
            return
        users = User.objects.filter(email__in=missing, is_active=True)
        if not self.actor.sees_everything:
            users = users.filter(Q(pk=self.actor.pk) | Q(teams__in=self.actor.scope_team_ids)).distinct()
        found = {u.email: u for u in users}
        first_team: dict[int, Team] = {}
        for membership in Team.members.through.objects.filter(user__in=list(found.values())).order_by("team_id"):
            first_team.setdefault(membership.user_id, membership.team)
        for email in missing:
            user = found.get(email)
            self.by_email[email] = (user, first_team.get(user.pk) if user else None)

    def owner_of(self, row: Cleaned) -> tuple[User | None, Team | None, str]:
        if not row.owner_email:
            return self.actor, self.default_team, ""
        user, team = self.by_email.get(row.owner_email, (None, None))
        if user is None:
            return (
                None,
                None,
                _("No active user with the email “%(email)s” that you may assign records to.")
                % {"email": row.owner_email[:80]},
            )
        return user, team, ""


# --- duplicates -------------------------------------------------------------------------------


@dataclass
class DuplicateFinder:
    """Exact normalised phone/email matches: against records in the actor's scope (one query per chunk) and
    against earlier rows of the same file."""

    model: type[models.Model]
    actor: User
    seen: dict[tuple[str, str], int] = field(default_factory=dict)

    def check(self, chunk: list[Cleaned]) -> list[Duplicate]:
        keys = [(name, row.values.get(name, "")) for row in chunk for name in ("phone", "email") if not row.errors]
        phones = {v for n, v in keys if n == "phone" and v}
        emails = {v for n, v in keys if n == "email" and v}
        existing: dict[tuple[str, str], Any] = {}
        if phones or emails:
            matches = self.model.objects.visible_to(self.actor).filter(  # type: ignore[attr-defined]
                archived_at__isnull=True
            )
            matches = matches.filter(Q(phone__any=phones) | Q(email__any=emails)).only(
                "id", "phone", "email", *(["full_name"] if hasattr(self.model, "full_name") else [])
            )
            for record in matches.order_by("id"):
                for name in ("phone", "email"):
                    existing.setdefault((name, getattr(record, name)), record)
        found: list[Duplicate] = []
        for row in chunk:
            if row.errors:
                continue
            for name in ("phone", "email"):
                value = row.values.get(name, "")
                if not value:
                    continue
                record = existing.get((name, value))
                earlier = self.seen.get((name, value))
                if record is not None:
                    found.append(Duplicate(row.number, name, value, record.pk, str(record), record.get_absolute_url()))
                    break
                if earlier is not None:
                    found.append(Duplicate(row.number, name, value, same_file_row=earlier))
                    break
            for name in ("phone", "email"):
                value = row.values.get(name, "")
                if value:
                    self.seen.setdefault((name, value), row.number)
        return found


# --- the dry run ------------------------------------------------------------------------------

RECORD_MODELS: dict[str, type[Account] | type[Contact] | type[Lead]] = {
    "customers.contact": Contact,
    "customers.account": Account,
    "customers.lead": Lead,
}


def _account_permission_problem(actor: User, chunk: list[Cleaned], known: dict[str, int | None]) -> None:
    if actor.has_perm("customers.add_account"):
        return
    for row in chunk:
        if row.company and known.get(row.company) is None and not row.errors:
            row.errors.setdefault("company", []).append(
                _("There is no account named “%(name)s” that you can see, and you may not create accounts.")
                % {"name": row.company[:80]}
            )


def check(batch: ImportBatch, progress: Progress) -> CheckResult:
    """Clean every row and report every bad value and likely duplicate; writes nothing."""
    actor = User.objects.get(pk=batch.owner_id or 0)
    result = CheckResult()
    owners = Owners(actor)
    model = RECORD_MODELS[batch.record_type]
    finder = DuplicateFinder(model, actor) if batch.record_type != "customers.account" else None
    accounts = _AccountLinker(actor, batch)
    for chunk in cleaned_chunks(batch, keep=True):
        owners.resolve({row.owner_email for row in chunk})
        for row in chunk:
            _user, _team, problem = owners.owner_of(row)
            if problem:
                row.errors.setdefault("owner", []).append(problem)
        if batch.record_type == "customers.contact":
            _account_permission_problem(actor, chunk, accounts.lookup({r.company for r in chunk if r.company}))
        for row in chunk:
            result.total += 1
            if row.errors:
                result.bad_rows.add(row.number)
                for name, messages in row.errors.items():
                    for message in messages:
                        result.problems.append(RowProblem(row.number, name, str(message)))
            else:
                result.good += 1
        if finder is not None:
            result.duplicates.extend(finder.check(chunk))
        progress(result.total, None, "")
    return result


# --- the writer -------------------------------------------------------------------------------


class _AccountLinker:
    """Company names → account ids: an existing account by exact name in the actor's scope, else a new one."""

    def __init__(self, actor: User, batch: ImportBatch) -> None:
        self.actor, self.batch = actor, batch
        self.ids: dict[str, int | None] = {}

    def lookup(self, names: set[str]) -> dict[str, int | None]:
        missing = [n for n in names if n not in self.ids]
        if missing:
            found = (
                Account.objects.visible_to(self.actor)
                .filter(name__in=missing, archived_at__isnull=True)
                .order_by("-id")
                .values_list("name", "id")
            )
            for name, pk in found:
                self.ids[name] = pk  # the oldest wins: rows come newest first
        return self.ids


@functools.cache
def _columns(model: type[models.Model]) -> tuple[tuple[str, str, Any], ...]:
    """(field name, attribute, default) of each concrete field but the id; a callable default is called per row."""
    return tuple(
        (f.name, f.attname, f.default if f.has_default() and callable(f.default) else f.get_default())
        for f in model._meta.concrete_fields
        if not f.primary_key
    )


def _insert(model: type[models.Model], rows: list[dict[str, Any]]) -> list[int]:
    """Insert new records from their values and return their ids: reserved ids + COPY on PostgreSQL, plain
    values and no model instance; `bulk_create` elsewhere (SQLite gives the ids back from the insert)."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objs = model.objects.bulk_create([model(**values) for values in rows], batch_size=500)  # type: ignore[attr-defined]
        return [obj.pk for obj in objs]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(rows)]
        )
        ids = [pk for (pk,) in cursor.fetchall()]
    columns = _columns(model)
    names = ["id", *(name for name, _attname, _default in columns)]

    def plain() -> Iterator[list[Any]]:
        for pk, values in zip(ids, rows, strict=True):
            out = [pk]
            for _name, attname, default in columns:
                value = values.get(attname, _NO_VALUE)
                if value is _NO_VALUE:
                    value = default() if callable(default) else default
                out.append(Jsonb(value) if isinstance(value, dict | list) else value)  # custom field values
            yield out

    insert_rows(model=model, fields=names, rows=plain())
    return ids


_NO_VALUE = object()
_json = json.JSONEncoder(ensure_ascii=False, default=DjangoJSONEncoder().default).encode


def _stamp(rows: list[dict[str, Any]], batch: ImportBatch, now: Any) -> None:
    for values in rows:
        values["import_batch_id"] = batch.pk
        values["created_at"] = values["updated_at"] = now


def _events(
    *,
    model: type[models.Model],
    rows: list[dict[str, Any]],
    ids: list[int],
    tracked: tuple[str, ...],
    actor: User,
    batch: ImportBatch,
    links: Any = None,
) -> None:
    """One `created` event per record, as the services write it (`services.created_changes`), inserted in bulk."""
    if not rows:
        return
    content_type = ContentType.objects.get_for_model(model)
    now = timezone.now()
    occurred = now if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(now)
    data = json.dumps({"import_batch": batch.pk})
    label = str(actor)
    label_of = model.__str__
    defaults = {attname: default for _name, attname, default in _columns(model) if not callable(default)}

    def plain() -> Iterator[list[Any]]:
        for pk, values in zip(ids, rows, strict=True):
            record = SimpleNamespace(**{**defaults, **values})
            changes = services.created_changes(record, tracked)
            if links and pk in links:
                changes["accounts"] = [None, links[pk]]
            yield [
                occurred,
                actor.pk,
                label,
                content_type.pk,
                pk,
                label_of(record)[:200],
                "created",
                _json(changes),
                data,
                0,
                "",
            ]

    insert_rows(
        model=Event,
        fields=[
            "occurred_at",
            "actor",
            "actor_label",
            "content_type",
            "object_id",
            "object_repr",
            "action",
            "changes",
            "data",
            "dispatch_attempts",
            "dispatch_error",
        ],
        rows=plain(),
    )


TRACKED = {
    "customers.contact": (*services.CONTACT_TRACKED, "lifecycle_stage"),
    "customers.account": (*services.ACCOUNT_TRACKED, "lifecycle_stage"),
    "customers.lead": services.LEAD_TRACKED,
}


def write(batch: ImportBatch, progress: Progress) -> dict[str, Any]:
    """Clean and write every row, in the caller's transaction; a bad row aborts unless the batch skips bad rows.

    The rows come from the dry run's store when it is still valid (same file, mapping and language), so the
    run mostly writes; what depends on the database (owners, accounts) is checked again here.
    """
    actor = User.objects.get(pk=batch.owner_id or 0)
    owners = Owners(actor)
    accounts = _AccountLinker(actor, batch)
    model = RECORD_MODELS[batch.record_type]
    tracked = TRACKED[batch.record_type]
    is_contact = batch.record_type == "customers.contact"
    # scored before they are written, as the services score a save: rescoring after the insert would
    # update every new row again, in every index
    score = quality.new_record_score(model._meta.model_name or "", linked="accounts" if is_contact else "")
    rescored: set[int] = set()  # accounts this file created or already rescored for their new contacts
    created = accounts_created = done = 0
    bad: list[tuple[int, list[str], str]] = []
    for chunk in cleaned_chunks(batch):
        owners.resolve({row.owner_email for row in chunk})
        good: list[Cleaned] = []
        if is_contact:
            _account_permission_problem(actor, chunk, accounts.lookup({r.company for r in chunk if r.company}))
        for row in chunk:
            user, team, problem = owners.owner_of(row)
            if problem:
                row.errors.setdefault("owner", []).append(problem)
            if row.errors:
                message = "; ".join(f"{name}: {' '.join(map(str, msgs))}" for name, msgs in row.errors.items())
                if not batch.skip_bad_rows:
                    raise ValidationError(
                        {"file": _("Row %(row)s: %(problem)s") % {"row": row.number, "problem": message}}
                    )
                bad.append((row.number, row.cells, message))
                continue
            row.values["owner_id"] = user.pk if user is not None else None
            row.values["team_id"] = team.pk if team is not None else None
            good.append(row)
        now = timezone.now()
        links: dict[int, list[dict[str, Any]]] = {}
        if is_contact:
            fresh = _new_accounts(good, accounts, actor, batch, now)
            accounts_created += len(fresh)
            rescored.update(fresh)
        for row in good:
            row.values["completeness"] = score(row.values, bool(row.company and accounts.ids.get(row.company)))
        records = [row.values for row in good]
        _stamp(records, batch, now)
        ids = _insert(model, records)
        if is_contact:
            link_rows = []
            stamp = _adapt(now)
            for pk, row in zip(ids, good, strict=True):
                account_id = accounts.ids.get(row.company) if row.company else None
                if account_id:
                    role = services._line(row.role)[:100]
                    link_rows.append((pk, account_id, role, stamp))
                    links[pk] = [{"account": account_id, "role": role}]
            insert_rows(model=ContactAccount, fields=["contact", "account", "role", "created_at"], rows=link_rows)
        _events(model=model, rows=records, ids=ids, tracked=tracked, actor=actor, batch=batch, links=links)
        linked = {link["account"] for rows in links.values() for link in rows} - rescored
        quality.scores_refresh(Account, linked)  # existing accounts that now have contacts
        rescored |= linked
        created += len(records)
        done += len(chunk)
        progress(done, batch.total_rows or None, "")
    return {"created": created, "accounts_created": accounts_created, "bad_rows": bad}


def _adapt(value: Any) -> Any:
    return value if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(value)


def _new_accounts(
    good: list[Cleaned], accounts: _AccountLinker, actor: User, batch: ImportBatch, now: Any
) -> list[int]:
    """Create the accounts named by contact rows that match none in scope, once per name, owned like the row;
    return their ids. Each is scored as linked to a contact: the row that names it is linked to it next."""
    new: dict[str, dict[str, Any]] = {}
    for row in good:
        if row.company and accounts.ids.get(row.company) is None and row.company not in new:
            values, errors = services.account_values({"name": row.company})
            if errors:
                raise ValidationError({"file": _("Row %(row)s: %(problem)s") % {"row": row.number, "problem": errors}})
            values["owner_id"], values["team_id"] = row.values["owner_id"], row.values["team_id"]
            new[row.company] = values
    rows = list(new.values())
    if rows:
        score = quality.new_record_score("account", linked="contacts")
        for values in rows:
            values["completeness"] = score(values, True)
    _stamp(rows, batch, now)
    ids = _insert(Account, rows)
    _events(model=Account, rows=rows, ids=ids, tracked=TRACKED["customers.account"], actor=actor, batch=batch)
    for name, pk in zip(new, ids, strict=True):
        accounts.ids[name] = pk
    return ids


# --- undo -------------------------------------------------------------------------------------


def undo(batch: ImportBatch, actor: User) -> dict[str, int]:
    """Remove what the batch created that nobody touched since; keep (and count) the rest. Caller's transaction."""
    removed = kept = 0
    for model in (Contact, Lead, Account):
        ids = list(model.objects.filter(import_batch=batch).values_list("pk", flat=True))
        if not ids:
            continue
        content_type = ContentType.objects.get_for_model(model)
        touched: set[int] = set()
        for start in range(0, len(ids), 5000):
            part = ids[start : start + 5000]
            touched |= set(
                Event.objects.filter(content_type=content_type, object_id__in=part)
                .exclude(action__in=["created", "pii_viewed"])
                .values_list("object_id", flat=True)
            )
            about = {Contact: "contact", Account: "account", Lead: "lead"}[model]
            touched |= set(Interaction.objects.filter(**{f"{about}__in": part}).values_list(f"{about}_id", flat=True))
            if model is Account:  # linked since by a contact that is not from this batch
                touched |= set(
                    ContactAccount.objects.filter(account_id__in=part)
                    .exclude(contact__import_batch=batch)
                    .values_list("account_id", flat=True)
                )
                touched |= set(
                    Lead.objects.filter(converted_account_id__in=part).values_list("converted_account_id", flat=True)
                )
            if model is Lead:
                touched |= set(
                    Contact.objects.filter(converted_from_id__in=part).values_list("converted_from_id", flat=True)
                )
        removable = [pk for pk in ids if pk not in touched]
        for start in range(0, len(removable), 5000):
            model.objects.filter(pk__in=removable[start : start + 5000]).delete()
        removed += len(removable)
        kept += len(ids) - len(removable)
    return {"removed": removed, "kept": kept}


def register() -> None:
    """Register the three record types with the import engine (from `CustomersConfig.ready`)."""
    header_aliases_lead = {"company": "company_name"}
    import_type(
        ImportType(
            name="customers.contact",
            label=gettext_lazy("Contacts"),
            permission="customers.add_contact",
            targets=contact_targets,
            check=check,
            write=write,
            undo=undo,
        )
    )
    import_type(
        ImportType(
            name="customers.account",
            label=gettext_lazy("Accounts"),
            permission="customers.add_account",
            targets=account_targets,
            check=check,
            write=write,
            undo=undo,
            header_aliases={"company": "name", "full_name": ""},
        )
    )
    import_type(
        ImportType(
            name="customers.lead",
            label=gettext_lazy("Leads"),
            permission="customers.add_lead",
            targets=lead_targets,
            check=check,
            write=write,
            undo=undo,
            header_aliases=header_aliases_lead,
        )
    )
