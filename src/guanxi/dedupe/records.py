"""The customer records a merge works on: their names (`contact:12`), the fields a person chooses between,
and the survivor and choices a person starts from."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from guanxi.customers.models import Account, Contact, Lead

from .models import record_key

Record = Account | Contact | Lead
RecordRef = tuple[str, int]
MODELS: dict[str, type[Record]] = {"contact": Contact, "account": Account, "lead": Lead}
TYPE_OF: dict[type[Any], str] = {model: key for key, model in MODELS.items()}

# The fields a person picks a surviving value for, per record type (derived ones follow from them).
CHOOSABLE: dict[str, tuple[str, ...]] = {
    "account": (
        "name",
        "registration_number",
        "industry",
        "size",
        "province",
        "city",
        "district",
        "website",
        "tier",
        "owner",
        "team",
    ),
    "contact": (
        "surname",
        "given_name",
        "phone",
        "email",
        "title",
        "province",
        "city",
        "district",
        "street",
        "owner",
        "team",
    ),
    "lead": ("surname", "given_name", "company_name", "phone", "email", "source", "notes", "owner", "team"),
}
CUSTOM_PREFIX = "custom."
# columns a merge never compares when it checks that nothing changed since (they move by themselves)
VOLATILE = {"updated_at", "completeness"}


def parse_ref(key: str, *, field: str = "record") -> RecordRef:
    """`"contact:12"` → `("contact", 12)`; anything else is refused naming `field`."""
    kind, _sep, raw = str(key).partition(":")
    if kind not in MODELS or not raw.isdigit():
        raise ValidationError({field: _("“%(value)s” does not name a record.") % {"value": str(key)[:60]}})
    return kind, int(raw)


def ref_of(record: Record) -> RecordRef:
    return TYPE_OF[type(record)], record.pk


def value_of(record: Record, name: str) -> Any:
    if name.startswith(CUSTOM_PREFIX):
        return (record.custom or {}).get(name[len(CUSTOM_PREFIX) :])
    field: Any = record._meta.get_field(name)
    return getattr(record, field.attname)


def is_empty(value: Any) -> bool:
    return value in (None, "", [], {})


def custom_keys(record_type: str) -> list[str]:
    from guanxi.core.customfields import active_fields

    return [cf.key for cf in active_fields(record_type)]


def merge_defaults(records: list[Record]) -> tuple[Record, dict[str, str]]:
    """The survivor and field choices a person starts from: a contact over a lead, then the most complete,
    then the most recently updated record; per field the survivor's value, or the most complete/recent
    record's value when the survivor's is empty."""
    ranked = sorted(
        records,
        key=lambda r: (isinstance(r, Contact), r.completeness, r.updated_at, r.pk),
        reverse=True,
    )
    survivor = ranked[0]
    kind = ref_of(survivor)[0]
    choices: dict[str, str] = {}
    names = [*CHOOSABLE[kind], *(CUSTOM_PREFIX + k for k in custom_keys(kind))]
    for name in names:
        for record in ranked:
            if not name.startswith(CUSTOM_PREFIX) and name not in CHOOSABLE[ref_of(record)[0]]:
                continue
            if not is_empty(value_of(record, name)):
                choices[name] = record_key(*ref_of(record))
                break
    return survivor, choices
