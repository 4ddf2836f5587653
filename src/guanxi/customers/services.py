"""Every write to customer records: one function per business action, one transaction, one event.

Values are cleaned at the door: phones to E.164, emails validated and normalised, registration
numbers checked, names given their display form and pinyin. Every bad value is refused with a
ValidationError that names the field.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.core import customfields
from guanxi.core.events import field_changes, record_event, snapshot
from guanxi.core.fieldchecks import FieldChecks
from guanxi.core.jobs import job_start
from guanxi.core.models import Job, Tag, Team, User
from guanxi.core.services import notification_send, tags_resolve

from .emails import email_normalise
from .models import (
    Account,
    Contact,
    ContactAccount,
    CustomerRecord,
    Interaction,
    Lead,
    LifecycleStage,
    QualityWeights,
    RecordType,
)
from .names import display_name, pinyin_keys
from .phones import phone_normalise
from .quality import CHECKS, MAX_WEIGHT, record_completeness, scores_refresh, weights_for
from .registration import registration_normalise

ACCOUNT_FIELDS = ("name", "registration_number", "industry", "size", "province", "city", "district", "website", "tier")
CONTACT_FIELDS = ("surname", "given_name", "phone", "email", "title", "province", "city", "district", "street")
LEAD_FIELDS = ("surname", "given_name", "company_name", "phone", "email", "source", "status", "notes")
OWNERSHIP = ("owner_id", "team_id")

# The order a customer moves through; churned customers who come back start again as prospects.
STAGE_ORDER = [
    LifecycleStage.CHURNED,
    LifecycleStage.LEAD,
    LifecycleStage.PROSPECT,
    LifecycleStage.CUSTOMER,
    LifecycleStage.LOYAL,
]

Errors = dict[str, list[str]]
AccountLinks = list[tuple[Account, str]]
Customer = Account | Contact | Lead


# --- cleaning ---------------------------------------------------------------------------------


def _nfkc(value: Any) -> str:
    """NFKC (full-width digits and letters become ASCII); ASCII text is already in that form."""
    text = str(value or "")
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _line(value: Any) -> str:
    """One line of text: surrounding and repeated white space (full-width too) removed."""
    return " ".join(str(value or "").split())


def _add(errors: Errors, exc: ValidationError) -> None:
    for name, messages in exc.message_dict.items():
        errors.setdefault(name, []).extend(messages)


def _clean_values(fields: dict[str, Any], allowed: tuple[str, ...], errors: Errors) -> dict[str, Any]:
    """Normalise the submitted values; collect every bad one in `errors` under its field name."""
    if not fields.keys() <= set(allowed):
        unknown = sorted(set(fields) - set(allowed))
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        try:
            if name == "phone":
                cleaned[name] = phone_normalise(_nfkc(value))
            elif name == "email":
                cleaned[name] = email_normalise(_nfkc(value))
            elif name == "registration_number":
                cleaned[name] = registration_normalise(_nfkc(value))
            elif name == "website":
                website = _line(value)
                cleaned[name] = f"https://{website}" if website and "://" not in website else website
            elif name == "notes":
                cleaned[name] = str(value or "").strip()
            else:
                cleaned[name] = _line(value)
        except ValidationError as exc:
            _add(errors, exc)
    return cleaned


NOT_CHECKED = ("owner", "team", "import_batch")  # set by the services themselves, never typed


def _model_checks(obj: models.Model, errors: Errors, *, checked: tuple[str, ...]) -> None:
    """The model's own checks (lengths, choices, URLs) on what the cleaners left, added to `errors`."""
    try:
        obj.full_clean(exclude=[*errors, *checked, *NOT_CHECKED])
    except ValidationError as exc:
        _add(errors, exc)


@functools.cache
def _field_checks(model: type[models.Model], checked: tuple[str, ...]) -> FieldChecks:
    """The same checks as `_model_checks` on a new record, compiled once, for plain values (no instance)."""
    return FieldChecks(model, exclude=(*checked, *NOT_CHECKED))


def _derive_on(obj: models.Model, derive: Callable[[dict[str, Any], Errors], None], errors: Errors) -> None:
    """Run a derive step written for plain values on a record being changed."""
    values = {name: getattr(obj, name) for name in DERIVED_FROM[type(obj)]}
    derive(values, errors)
    for name, value in values.items():
        setattr(obj, name, value)


def _save(obj: models.Model, errors: Errors, *, checked: tuple[str, ...]) -> None:
    """Run the model's own checks on what the cleaners left, then save or refuse."""
    _model_checks(obj, errors, checked=checked)
    if errors:
        if obj.pk is not None:
            obj.refresh_from_db()  # the caller's object shows the stored values, not the refused ones
        raise ValidationError(errors)
    _store(obj)


def _store(obj: models.Model) -> None:
    """Save a checked record; the one place every customer write passes, so its completeness stays fresh."""
    if isinstance(obj, CustomerRecord):
        obj.completeness = record_completeness(obj).score
    obj.save()


def _default_team(actor: Any) -> Team | None:
    if not getattr(actor, "is_authenticated", False):
        return None
    return actor.teams.order_by("id").first()


def _ownership(obj: Any, actor: Any, owner: User | None, team: Team | None) -> None:
    obj.owner = owner if owner is not None else (actor if getattr(actor, "is_authenticated", False) else None)
    obj.team = team if team is not None else _default_team(actor)


def created_changes(record: Any, fields: tuple[str, ...]) -> dict[str, list[Any]]:
    """The `changes` of a `created` event: each tracked field that has a value (a record or its plain values)."""
    return {name: [None, getattr(record, name)] for name in fields if getattr(record, name) not in ("", None)}


class _Extras:
    """Custom-field values, tags and the administrator's required-field rules of one write.

    `check` runs before the save (its errors join the built-in fields' errors, so one refusal names
    every field at fault); `store` runs after it, when the record has its id for the tags.
    """

    def __init__(
        self, record: Customer, custom: dict[str, Any] | None, tags: Any, *, actor: Any, enforce_required: bool
    ) -> None:
        self.record, self.custom, self.tags, self.actor = record, custom, tags, actor
        self.enforce_required = enforce_required
        self.record_type = customfields.record_type_of(type(record)).key
        self.custom_before: dict[str, Any] = dict(record.custom or {})
        self.tags_before = sorted(t.name for t in record.tags.all()) if record.pk else []
        self.new_tags: list[Tag] | None = None

    def check(self, errors: Errors) -> None:
        try:
            self.record.custom = customfields.custom_values_clean(
                record_type=self.record_type,
                values=self.custom,
                current=self.custom_before,
                instance_pk=self.record.pk,
                enforce_required=self.enforce_required,
            )
        except ValidationError as exc:
            _add(errors, exc)
        if self.enforce_required:
            customfields.required_builtin_check(self.record_type, self.record, errors)
        if self.tags is not None:
            try:
                self.new_tags = tags_resolve(names=self.tags, actor=self.actor)
            except ValidationError as exc:
                _add(errors, exc)

    def store(self, changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
        """Set the tags and add the custom-field and tag changes to the event's `changes`."""
        changes.update(customfields.custom_changes(self.custom_before, self.record.custom))
        if self.new_tags is not None:
            self.record.tags.set(self.new_tags)
            after = sorted(t.name for t in self.new_tags)
            if after != self.tags_before:
                changes["tags"] = [self.tags_before or None, after]
        return changes


def _stage_at_least(record: Account | Contact, stage: str, actor: Any) -> None:
    """Move a record forward to `stage` (never backwards), recording the change."""
    if STAGE_ORDER.index(LifecycleStage(record.lifecycle_stage)) >= STAGE_ORDER.index(LifecycleStage(stage)):
        return
    before = record.lifecycle_stage
    record.lifecycle_stage = stage
    record.save(update_fields=["lifecycle_stage", "updated_at"])
    record_event(obj=record, action="stage_changed", actor=actor, changes={"lifecycle_stage": [before, stage]})


def _archive(record: Account | Contact | Lead, actor: Any) -> None:
    if record.archived_at is None:
        record.archived_at = timezone.now()
        record.save(update_fields=["archived_at", "updated_at"])
        record_event(obj=record, action="archived", actor=actor)


# --- bulk actions on lists -------------------------------------------------------------------

BULK_LIMIT = 1000
CustomerModel = type[Account] | type[Contact] | type[Lead]


def _bulk_targets(model: CustomerModel, ids: list[int], actor: Any, action: str, *, archived: bool) -> list[Any]:
    """The selected records, each one the actor may `action`; any other selected record refuses them all."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        raise ValidationError({"ids": _("Select at least one record.")})
    if len(wanted) > BULK_LIMIT:
        raise ValidationError({"ids": _("Select at most %(limit)s records at a time.") % {"limit": BULK_LIMIT}})
    rows = model.objects.visible_to(actor, action).filter(pk__in=wanted, archived_at__isnull=not archived)
    found = list(rows.select_related("owner", "team").order_by("id"))
    refused = len(wanted) - len(found)
    if refused:
        message = _(
            "%(count)s of the selected records cannot be changed by you (or no longer exist); nothing was changed."
        )
        raise ValidationError({"ids": message % {"count": refused}})
    return found


@transaction.atomic
def customers_bulk_reassign(
    *, model: CustomerModel, ids: list[int], actor: Any, owner: User | None = None, team: Team | None = None
) -> int:
    """Give the selected records a new owner and/or team, all or none; one `reassigned` event per record changed."""
    if owner is None and team is None:
        raise ValidationError({"owner": _("Choose a new owner or a new team.")})
    if owner is not None and not owner.is_active:
        raise ValidationError({"owner": _("This user is no longer active.")})
    changed = 0
    for record in _bulk_targets(model, ids, actor, "change", archived=False):
        before = snapshot(record, OWNERSHIP)
        if owner is not None:
            record.owner = owner
        if team is not None:
            record.team = team
        changes = field_changes(record, before, OWNERSHIP)
        if changes:
            record.save(update_fields=["owner", "team", "updated_at"])
            record_event(obj=record, action="reassigned", actor=actor, changes=changes)
            changed += 1
    return changed


@transaction.atomic
def customers_bulk_archive(*, model: CustomerModel, ids: list[int], actor: Any) -> int:
    """Archive the selected records, all or none (the actor needs the right to archive each); one event each."""
    records = _bulk_targets(model, ids, actor, "delete", archived=False)
    for record in records:
        _archive(record, actor)
    return len(records)


@transaction.atomic
def customers_bulk_unarchive(*, model: CustomerModel, ids: list[int], actor: Any) -> int:
    """Bring archived records back into lists and search, all or none; one `unarchived` event each."""
    records = _bulk_targets(model, ids, actor, "delete", archived=True)
    for record in records:
        record.archived_at = None
        record.save(update_fields=["archived_at", "updated_at"])
        record_event(obj=record, action="unarchived", actor=actor)
    return len(records)


# --- accounts ---------------------------------------------------------------------------------

ACCOUNT_TRACKED = (*ACCOUNT_FIELDS, *OWNERSHIP)


def _account_derive(values: dict[str, Any], errors: Errors) -> None:
    name = values.get("name", "")
    if not name:
        errors.setdefault("name", []).append(_("Enter the company name."))
    values["name_pinyin"], values["name_initials"] = pinyin_keys(name)


def account_values(fields: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    """A new account's values cleaned exactly as `account_create` cleans them, and their errors; no database access.

    The import path cleans each row with it, so an imported account is what a typed one would be.
    """
    errors: Errors = {}
    values = _clean_values(fields, ACCOUNT_FIELDS, errors)
    values["lifecycle_stage"] = LifecycleStage.LEAD.value
    _account_derive(values, errors)
    _field_checks(Account, ("registration_number",)).check(values, errors)
    return values, errors


def account_clean(fields: dict[str, Any]) -> tuple[Account, Errors]:
    """A new, unsaved account cleaned as `account_create` cleans it (`account_values`), and its errors."""
    values, errors = account_values(fields)
    return Account(**values), errors


def _account_create(
    *,
    actor: Any,
    fields: dict[str, Any],
    owner: User | None,
    team: Team | None,
    stage: str,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    tags: Any = None,
    enforce_required: bool = True,
) -> Account:
    account, errors = account_clean(fields)
    account.lifecycle_stage = stage
    _ownership(account, actor, owner, team)
    extras = _Extras(account, custom, tags, actor=actor, enforce_required=enforce_required)
    extras.check(errors)
    if errors:
        raise ValidationError(errors)
    _store(account)
    changes = extras.store(created_changes(account, (*ACCOUNT_TRACKED, "lifecycle_stage")))
    record_event(obj=account, action="created", actor=actor, changes=changes, data=data)
    return account


@transaction.atomic
def account_create(
    *,
    actor: Any,
    owner: User | None = None,
    team: Team | None = None,
    custom: dict[str, Any] | None = None,
    tags: Any = None,
    **fields: Any,
) -> Account:
    """Create a company record; the name is required and an 18-character registration number must check out."""
    return _account_create(
        actor=actor,
        fields=fields,
        owner=owner,
        team=team,
        stage=LifecycleStage.LEAD,
        data={},
        custom=custom,
        tags=tags,
    )


@transaction.atomic
def account_update(
    *, account: Account, actor: Any, custom: dict[str, Any] | None = None, tags: Any = None, **fields: Any
) -> Account:
    """Change an account's details, custom values (only the given keys), tags, owner or team; records what changed."""
    ownership: dict[str, Any] = {k: fields.pop(k) for k in ("owner", "team") if k in fields}
    errors: Errors = {}
    cleaned = _clean_values(fields, ACCOUNT_FIELDS, errors)
    before = snapshot(account, ACCOUNT_TRACKED)
    extras = _Extras(account, custom, tags, actor=actor, enforce_required=True)
    for name, value in {**cleaned, **ownership}.items():
        setattr(account, name, value)
    _derive_on(account, _account_derive, errors)
    extras.check(errors)
    _save(account, errors, checked=("registration_number",))
    changes = extras.store(field_changes(account, before, ACCOUNT_TRACKED))
    if changes:
        record_event(obj=account, action="updated", actor=actor, changes=changes)
    return account


@transaction.atomic
def account_archive(*, account: Account, actor: Any) -> Account:
    """Take an account out of lists and search; its history and links stay."""
    _archive(account, actor)
    return account


# --- contacts ---------------------------------------------------------------------------------

CONTACT_TRACKED = (*CONTACT_FIELDS, "full_name", *OWNERSHIP)


def _contact_derive(values: dict[str, Any], errors: Errors) -> None:
    surname = values.get("surname", "")
    values["full_name"] = full_name = display_name(surname, values.get("given_name", ""))
    values["name_pinyin"], values["name_initials"] = pinyin_keys(full_name, surname=surname)
    if not full_name:
        message = _("Enter a surname or a given name.")
        errors.setdefault("surname", []).append(message)
        errors.setdefault("given_name", []).append(message)
    if not values.get("phone") and not values.get("email") and "phone" not in errors and "email" not in errors:
        message = _("Enter a phone number or an email address: a contact needs at least one.")
        errors.setdefault("phone", []).append(message)
        errors.setdefault("email", []).append(message)


def _links_of(contact: Contact) -> list[dict[str, Any]]:
    return [
        {"account": a, "role": r} for a, r in contact.links.order_by("account_id").values_list("account_id", "role")
    ]


def _set_links(contact: Contact, links: AccountLinks, actor: Any) -> None:
    """Make the contact's links to the accounts the actor can see match `links`.

    Links to accounts outside the actor's scope are kept: the actor could not see them to keep them.
    """
    wanted = {account.pk: _line(role)[:100] for account, role in links}
    removable = contact.links.exclude(account_id__in=wanted)
    if getattr(actor, "is_authenticated", False):  # a system action (no actor) sees every link
        removable = removable.filter(account__in=Account.objects.visible_to(actor))
    touched = set(removable.values_list("account_id", flat=True))
    removable.delete()
    existing = {link.account_id: link for link in contact.links.all()}
    for account_id, role in wanted.items():
        link = existing.get(account_id)
        if link is None:
            ContactAccount.objects.create(contact=contact, account_id=account_id, role=role)
            touched.add(account_id)
        elif link.role != role:
            link.role = role
            link.save(update_fields=["role"])
    if touched:  # links count towards both sides' completeness
        score = record_completeness(contact).score
        if score != contact.completeness:
            contact.completeness = score
            Contact.objects.filter(pk=contact.pk).update(completeness=score)
        scores_refresh(Account, touched)
        for account, _role in links:
            if account.pk in touched:  # the caller's instances show the new score too
                account.refresh_from_db(fields=["completeness"])


def contact_values(fields: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    """A new contact's values cleaned exactly as `contact_create` cleans them, and their errors; no database access."""
    errors: Errors = {}
    values = _clean_values(fields, CONTACT_FIELDS, errors)
    values["lifecycle_stage"] = LifecycleStage.LEAD.value
    _contact_derive(values, errors)
    _field_checks(Contact, ("phone", "email")).check(values, errors)
    return values, errors


def contact_clean(fields: dict[str, Any]) -> tuple[Contact, Errors]:
    """A new, unsaved contact cleaned as `contact_create` cleans it (`contact_values`), and its errors."""
    values, errors = contact_values(fields)
    return Contact(**values), errors


def _contact_create(
    *,
    actor: Any,
    fields: dict[str, Any],
    owner: User | None,
    team: Team | None,
    accounts: AccountLinks,
    stage: str,
    converted_from: Lead | None = None,
    custom: dict[str, Any] | None = None,
    tags: Any = None,
    enforce_required: bool = True,
) -> Contact:
    contact, errors = contact_clean(fields)
    contact.lifecycle_stage = stage
    contact.converted_from = converted_from
    _ownership(contact, actor, owner, team)
    extras = _Extras(contact, custom, tags, actor=actor, enforce_required=enforce_required)
    extras.check(errors)
    if errors:
        raise ValidationError(errors)
    _store(contact)
    _set_links(contact, accounts, actor)
    changes = extras.store(created_changes(contact, (*CONTACT_TRACKED, "lifecycle_stage")))
    links = _links_of(contact)
    if links:
        changes["accounts"] = [None, links]
    data = {"converted_from": converted_from.pk} if converted_from else {}
    record_event(obj=contact, action="created", actor=actor, changes=changes, data=data)
    return contact


@transaction.atomic
def contact_create(
    *,
    actor: Any,
    owner: User | None = None,
    team: Team | None = None,
    accounts: AccountLinks | None = None,
    custom: dict[str, Any] | None = None,
    tags: Any = None,
    **fields: Any,
) -> Contact:
    """Create a person; a name and at least one of phone and email are required."""
    return _contact_create(
        actor=actor,
        fields=fields,
        owner=owner,
        team=team,
        accounts=accounts or [],
        stage=LifecycleStage.LEAD,
        custom=custom,
        tags=tags,
    )


@transaction.atomic
def contact_update(
    *,
    contact: Contact,
    actor: Any,
    accounts: AccountLinks | None = None,
    custom: dict[str, Any] | None = None,
    tags: Any = None,
    **fields: Any,
) -> Contact:
    """Change a contact's details, custom values (only the given keys), tags, owner, team or accounts; records
    what changed."""
    ownership: dict[str, Any] = {k: fields.pop(k) for k in ("owner", "team") if k in fields}
    errors: Errors = {}
    cleaned = _clean_values(fields, CONTACT_FIELDS, errors)
    before = snapshot(contact, CONTACT_TRACKED)
    extras = _Extras(contact, custom, tags, actor=actor, enforce_required=True)
    for name, value in {**cleaned, **ownership}.items():
        setattr(contact, name, value)
    _derive_on(contact, _contact_derive, errors)
    extras.check(errors)
    _save(contact, errors, checked=("phone", "email"))
    changes = extras.store(field_changes(contact, before, CONTACT_TRACKED))
    if accounts is not None:
        old = _links_of(contact)
        _set_links(contact, accounts, actor)
        new = _links_of(contact)
        if old != new:
            changes["accounts"] = [old, new]
    if changes:
        record_event(obj=contact, action="updated", actor=actor, changes=changes)
    return contact


@transaction.atomic
def contact_archive(*, contact: Contact, actor: Any) -> Contact:
    """Take a contact out of lists and search; its history stays."""
    _archive(contact, actor)
    return contact


# --- leads ------------------------------------------------------------------------------------

LEAD_TRACKED = (*LEAD_FIELDS, "full_name", *OWNERSHIP)

# What each derive step reads and writes, for running it on a record being changed (`_derive_on`).
DERIVED_FROM: dict[type[models.Model], tuple[str, ...]] = {
    Account: ("name", "name_pinyin", "name_initials"),
    Contact: ("surname", "given_name", "phone", "email", "full_name", "name_pinyin", "name_initials"),
    Lead: (
        "surname",
        "given_name",
        "company_name",
        "full_name",
        "name_pinyin",
        "name_initials",
        "company_pinyin",
        "company_initials",
    ),
}


def _lead_derive(values: dict[str, Any], errors: Errors) -> None:
    surname, company_name = values.get("surname", ""), values.get("company_name", "")
    values["full_name"] = full_name = display_name(surname, values.get("given_name", ""))
    values["name_pinyin"], values["name_initials"] = pinyin_keys(full_name, surname=surname)
    values["company_pinyin"], values["company_initials"] = pinyin_keys(company_name)
    if not full_name and not company_name:
        message = _("Enter a person's name or a company name.")
        for name in ("surname", "given_name", "company_name"):
            errors.setdefault(name, []).append(message)


def customer_derived_refresh(record: Customer) -> Errors:
    """Recompute a record's derived values (display name, pinyin keys, completeness) after its fields were set
    from other stored records (a merge); return the errors of the derive step (e.g. no name left). No save."""
    derive = {Account: _account_derive, Contact: _contact_derive, Lead: _lead_derive}[type(record)]
    errors: Errors = {}
    _derive_on(record, derive, errors)
    record.completeness = record_completeness(record).score
    return errors


def lead_values(fields: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    """A new lead's values cleaned exactly as `lead_create` cleans them, and their errors; no database access."""
    errors: Errors = {}
    values = _clean_values(fields, LEAD_FIELDS, errors)
    if values.get("status") == Lead.Status.CONVERTED:
        errors.setdefault("status", []).append(_("A lead becomes converted only by converting it."))
    _lead_derive(values, errors)
    _field_checks(Lead, ("phone", "email")).check(values, errors)
    return values, errors


def lead_clean(fields: dict[str, Any]) -> tuple[Lead, Errors]:
    """A new, unsaved lead cleaned as `lead_create` cleans it (`lead_values`), and its errors."""
    values, errors = lead_values(fields)
    return Lead(**values), errors


@transaction.atomic
def lead_create(
    *,
    actor: Any,
    owner: User | None = None,
    team: Team | None = None,
    custom: dict[str, Any] | None = None,
    tags: Any = None,
    **fields: Any,
) -> Lead:
    """Record a lead: a person, a company or both, with its source; it starts as new."""
    lead, errors = lead_clean(fields)
    _ownership(lead, actor, owner, team)
    extras = _Extras(lead, custom, tags, actor=actor, enforce_required=True)
    extras.check(errors)
    if errors:
        raise ValidationError(errors)
    _store(lead)
    changes = extras.store(created_changes(lead, LEAD_TRACKED))
    record_event(obj=lead, action="created", actor=actor, changes=changes)
    return lead


@transaction.atomic
def lead_update(
    *, lead: Lead, actor: Any, custom: dict[str, Any] | None = None, tags: Any = None, **fields: Any
) -> Lead:
    """Change a lead's details, custom values (only the given keys), tags or status (new, working, qualified,
    disqualified); records what changed."""
    ownership: dict[str, Any] = {k: fields.pop(k) for k in ("owner", "team") if k in fields}
    errors: Errors = {}
    cleaned = _clean_values(fields, LEAD_FIELDS, errors)
    status = cleaned.get("status", lead.status)
    if status != lead.status and Lead.Status.CONVERTED in (status, lead.status):
        errors.setdefault("status", []).append(
            _("A converted lead keeps its status; a lead becomes converted only by converting it.")
        )
    before = snapshot(lead, LEAD_TRACKED)
    extras = _Extras(lead, custom, tags, actor=actor, enforce_required=True)
    for name, value in {**cleaned, **ownership}.items():
        setattr(lead, name, value)
    _derive_on(lead, _lead_derive, errors)
    extras.check(errors)
    _save(lead, errors, checked=("phone", "email"))
    changes = extras.store(field_changes(lead, before, LEAD_TRACKED))
    if changes:
        action = "status_changed" if "status" in changes else "updated"
        record_event(obj=lead, action=action, actor=actor, changes=changes)
    return lead


@transaction.atomic
def lead_archive(*, lead: Lead, actor: Any) -> Lead:
    """Take a lead out of lists and search; its history stays."""
    _archive(lead, actor)
    return lead


def _carried_custom(lead: Lead, record_type: str) -> dict[str, Any]:
    """The lead's custom values that a field of the same key and kind on `record_type` can hold."""
    kinds = {cf.key: cf.kind for cf in customfields.active_fields(record_type)}
    lead_kinds = {cf.key: cf.kind for cf in customfields.active_fields("lead")}
    return {k: v for k, v in (lead.custom or {}).items() if k in kinds and kinds[k] == lead_kinds.get(k)}


@transaction.atomic
def lead_convert(*, lead: Lead, actor: Any, account: Account | None = None) -> tuple[Contact, Account | None]:
    """Turn a lead into a contact (and an account, or a link to `account`), keeping all history.

    The new contact points back to the lead (`converted_from`), so its timeline reaches the lead's
    events, and takes the lead's tags and the values of custom fields that contacts have under the same
    key and kind; both records become prospects. The administrator's
    required-field rules are not applied to the records a conversion creates (the lead has no values
    for them); they apply at the next edit. All of it happens, or none of it.
    """
    if lead.status == Lead.Status.CONVERTED:
        raise ValidationError({"status": _("This lead has already been converted.")})
    if lead.status == Lead.Status.DISQUALIFIED:
        raise ValidationError({"status": _("A disqualified lead cannot be converted; set it back to working first.")})
    if not lead.full_name:
        message = _("Add the person's name before converting: a contact needs one.")
        raise ValidationError({"surname": [message], "given_name": [message]})
    owner, team = lead.owner, lead.team
    if account is None and lead.company_name:
        account = _account_create(
            actor=actor,
            fields={"name": lead.company_name},
            owner=owner,
            team=team,
            stage=LifecycleStage.PROSPECT,
            data={"converted_from": lead.pk},
            enforce_required=False,
        )
    elif account is not None:
        _stage_at_least(account, LifecycleStage.PROSPECT, actor)
    contact = _contact_create(
        actor=actor,
        fields={"surname": lead.surname, "given_name": lead.given_name, "phone": lead.phone, "email": lead.email},
        owner=owner,
        team=team,
        accounts=[(account, "")] if account else [],
        stage=LifecycleStage.PROSPECT,
        converted_from=lead,
        custom=_carried_custom(lead, "contact"),
        tags=[t.name for t in lead.tags.all()],
        enforce_required=False,
    )
    before = lead.status
    lead.status = Lead.Status.CONVERTED
    lead.converted_at = timezone.now()
    lead.converted_account = account
    lead.save(update_fields=["status", "converted_at", "converted_account", "updated_at"])
    record_event(
        obj=lead,
        action="converted",
        actor=actor,
        changes={"status": [before, lead.status]},
        data={"contact": contact.pk, "account": account.pk if account else None},
    )
    return contact, account


# --- interactions and tasks -------------------------------------------------------------------

INTERACTION_FIELDS = (
    "kind",
    "channel",
    "direction",
    "occurred_at",
    "duration",
    "subject",
    "body",
    "outcome",
    "due_at",
    "assignee",
)
INTERACTION_RECORDED = ("kind", "channel", "direction", "occurred_at", "duration", "subject", "outcome", "due_at")
# A call logged from another time zone or a clock a little ahead is fine; a week ahead is a typo.
FUTURE_TOLERANCE = timedelta(days=1)
REMIND_AHEAD = timedelta(hours=1)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _interaction_clean(fields: dict[str, Any], errors: Errors) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(INTERACTION_FIELDS))
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    cleaned = dict(fields)
    for name in ("kind", "channel", "direction", "subject", "outcome"):
        if name in cleaned:
            cleaned[name] = _line(cleaned[name])
    if "body" in cleaned:
        cleaned["body"] = str(cleaned["body"] or "").strip()
    for name in ("occurred_at", "due_at"):
        if name in cleaned:
            cleaned[name] = _aware(cleaned[name])
    is_task = cleaned.get("kind") == Interaction.Kind.TASK
    duration = cleaned.get("duration")
    if duration is not None and duration < 0:
        errors.setdefault("duration", []).append(_("The duration cannot be negative."))
    occurred_at = cleaned.get("occurred_at")
    if not is_task and occurred_at is not None and occurred_at > timezone.now() + FUTURE_TOLERANCE:
        errors.setdefault("occurred_at", []).append(_("This is in the future; log an interaction once it happened."))
    if is_task and not cleaned.get("due_at"):
        errors.setdefault("due_at", []).append(_("A task needs a due date."))
    if not is_task:
        if cleaned.get("due_at"):
            errors.setdefault("due_at", []).append(_("Only a task has a due date."))
        if cleaned.get("assignee"):
            errors.setdefault("assignee", []).append(_("Only a task is assigned to someone."))
    if not cleaned.get("subject") and not cleaned.get("body"):
        errors.setdefault("subject", []).append(_("Enter a subject or some details."))
    assignee = cleaned.get("assignee")
    if assignee is not None and not assignee.is_active:
        errors.setdefault("assignee", []).append(_("This user is no longer active."))
    return cleaned


def _about_field(about: Customer) -> str:
    if isinstance(about, Contact):
        return "contact"
    if isinstance(about, Account):
        return "account"
    if isinstance(about, Lead):
        return "lead"
    raise TypeError(f"An interaction cannot be about {type(about).__name__}")


@transaction.atomic
def interaction_log(*, actor: Any, about: Customer, **fields: Any) -> Interaction:
    """Log a call, email, meeting … or a follow-up task against one contact, account or lead."""
    errors: Errors = {}
    cleaned = _interaction_clean(fields, errors)
    interaction = Interaction(**cleaned, **{_about_field(about): about})
    if getattr(actor, "is_authenticated", False):
        interaction.done_by = actor
    _ownership(interaction, actor, None, None)
    if interaction.team is None:
        interaction.team = about.team
    _save(interaction, errors, checked=("contact", "account", "lead", "done_by", "assignee"))
    record_event(
        obj=interaction,
        action="created",
        actor=actor,
        changes=created_changes(interaction, INTERACTION_RECORDED),
        data={"about": {"type": _about_field(about), "id": about.pk}},
    )
    return interaction


@transaction.atomic
def task_complete(*, task: Interaction, actor: Any) -> Interaction:
    """Mark a follow-up task done."""
    if task.kind != Interaction.Kind.TASK:
        raise ValidationError({"kind": _("Only a task can be completed.")})
    if task.completed_at is not None:
        raise ValidationError({"completed_at": _("This task is already complete.")})
    task.completed_at = timezone.now()
    task.save(update_fields=["completed_at", "updated_at"])
    record_event(obj=task, action="completed", actor=actor, changes={"completed_at": [None, task.completed_at]})
    return task


def tasks_remind_due(now: datetime | None = None) -> int:
    """Remind the assignee (or owner) of each open task due within the hour or overdue, once; return how many.

    Each task is claimed by setting `reminded_at` in its own transaction before the notification is
    written, so two sweeps running at once, or one run twice, remind nobody twice.
    """
    now = now or timezone.now()
    due = (
        Interaction.objects.filter(
            kind=Interaction.Kind.TASK,
            completed_at__isnull=True,
            reminded_at__isnull=True,
            due_at__lte=now + REMIND_AHEAD,
        )
        .order_by("due_at", "id")
        .values_list("pk", flat=True)
    )
    return sum(_task_remind(task_id=task_id, now=now) for task_id in list(due))


@transaction.atomic
def _task_remind(*, task_id: int, now: datetime) -> int:
    claimed = Interaction.objects.filter(pk=task_id, reminded_at__isnull=True, completed_at__isnull=True).update(
        reminded_at=now
    )
    if not claimed:
        return 0
    task = Interaction.objects.select_related("assignee", "owner", "contact", "account", "lead").get(pk=task_id)
    event = record_event(obj=task, action="reminded", actor=None, data={"due_at": task.due_at})
    recipient = task.assignee or task.owner
    if recipient is not None and recipient.is_active:
        notification_send(
            recipient=recipient,
            title=gettext_noop("Task due: %(subject)s (%(record)s)"),
            params={"subject": str(task), "record": str(task.about)},
            url=task.get_absolute_url(),
            event=event,
        )
    return 1


# --- data quality -----------------------------------------------------------------------------

QUALITY_RECOMPUTE = "customers.quality_recompute"


def _record_types(record_types: list[str] | None) -> list[str]:
    chosen = list(record_types or RecordType.values)
    unknown = [t for t in chosen if t not in RecordType.values]
    if unknown:
        raise ValidationError({"record_types": _("Unknown record type: %(type)s.") % {"type": ", ".join(unknown)}})
    return chosen


def _weight(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    if number != value and str(number) != str(value).strip():
        return None  # 2.5 is not a weight
    return number if 0 <= number <= MAX_WEIGHT else None


@transaction.atomic
def quality_weights_set(*, record_type: str, weights: dict[str, Any], actor: User) -> tuple[dict[str, int], Job | None]:
    """Set how much each field counts towards a record type's completeness, and recompute that type's scores.

    Fields left out keep their weight. Returns the weights now in force and the recompute job (none
    when nothing changed).
    """
    _record_types([record_type])
    checks = CHECKS[record_type]
    errors: Errors = {}
    cleaned: dict[str, int] = {}
    for key, value in weights.items():
        if key not in checks:
            errors.setdefault(key, []).append(_("This field does not count towards completeness."))
            continue
        number = _weight(value)
        if number is None:
            errors.setdefault(key, []).append(_("Enter a whole number from 0 to %(max)s.") % {"max": MAX_WEIGHT})
        else:
            cleaned[key] = number
    before = weights_for(record_type)
    after = {**before, **cleaned}
    if not errors and not any(after.values()):
        message = _("Give at least one field a weight above 0.")
        for key in cleaned:
            errors.setdefault(key, []).append(message)
    if errors:
        raise ValidationError(errors)
    if after == before:
        return after, None
    row, _created = QualityWeights.objects.update_or_create(
        record_type=record_type, defaults={"weights": after, "updated_by": actor}
    )
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    record_event(obj=row, action="updated", actor=actor, changes=changes)
    return after, job_start(kind=QUALITY_RECOMPUTE, actor=actor, params={"record_types": [record_type]})


def quality_recompute_start(*, actor: User | None, record_types: list[str] | None = None) -> Job:
    """Queue a recompute of the completeness scores (all record types unless named); `actor=None` is beat."""
    return job_start(kind=QUALITY_RECOMPUTE, actor=actor, params={"record_types": _record_types(record_types)})
