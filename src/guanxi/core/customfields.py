"""The custom-field engine: record types, cleaning submitted values, showing them, filtering on them.

Administrators define `CustomField`s per record type; a record keeps its values in its own JSON
column `custom` (`{key: value}`), so a new field needs no migration and no restart. Every value is
normalised to a JSON-safe form before it is stored:

| kind          | stored as                                         |
|---------------|---------------------------------------------------|
| text, url     | string                                            |
| number        | JSON number (an integer when it is one)           |
| money         | string decimal with two places, "1234.50"         |
| date          | ISO date string, "2026-03-01"                     |
| choice        | the choice's value                                |
| multi_choice  | list of choice values, in the order of the choices|
| boolean       | true / false                                      |
| user          | the user's id                                     |
| email, phone  | normalised address / E.164 number                 |

Errors always name the field as `custom_<key>`, the same name the forms, the API and imports use.
Apps register their record types with `record_type_register` (customers registers account,
contact and lead), so later apps add theirs without touching this module.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import connection, models
from django.db.models import CharField, DecimalField, JSONField, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from .models import CustomField, FieldRule, User

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
FILTER_PREFIX = "cf_"
FORM_PREFIX = "custom_"
MAX_TEXT = 1000
MONEY_PLACES = Decimal("0.01")
MONEY_LIMIT = Decimal("1e15")
_TRUE = {"true", "1", "yes", "on", "y", "是", "t"}
_FALSE = {"false", "0", "no", "off", "n", "否", "f"}
_LIST_SEPARATORS = re.compile(r"[,，、;；]")


# --- record types -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordType:
    """A kind of record that can carry custom fields, tags and required-field rules."""

    key: str  # "contact"
    model: str  # "customers.contact"
    label: str | Promise
    # built-in fields an administrator may make required, with their labels
    builtin_fields: dict[str, str | Promise] = field(default_factory=dict)

    @property
    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model)


_record_types: dict[str, RecordType] = {}


def record_type_register(record_type: RecordType) -> None:
    """Let `record_type.model` carry custom fields (call from the app's `ready()`)."""
    _record_types[record_type.key] = record_type


def record_types() -> list[RecordType]:
    return list(_record_types.values())


def record_type_get(key: str) -> RecordType:
    """The registered record type, or a ValidationError naming `record_type`."""
    try:
        return _record_types[key]
    except KeyError:
        raise ValidationError({"record_type": _("Unknown record type “%(type)s”.") % {"type": key}}) from None


def record_type_of(model: type[models.Model] | models.Model) -> RecordType:
    label = model._meta.label_lower
    for record_type in _record_types.values():
        if record_type.model == label:
            return record_type
    raise LookupError(f"{label} is not a registered record type")


# --- normalisers other apps provide (emails and phones live in customers) -----------------------


def _default_email(value: str, *, field: str) -> str:
    value = value.strip()
    validate_email(value)
    return value.lower()


def _default_phone(value: str, *, field: str) -> str:
    return value.strip()


_normalisers: dict[str, Callable[..., str]] = {"email": _default_email, "phone": _default_phone}


def value_normaliser(kind: str, fn: Callable[..., str]) -> None:
    """Use `fn(value, field=...)` to normalise values of `kind` ("email", "phone")."""
    _normalisers[kind] = fn


# --- definitions ------------------------------------------------------------------------------


def active_fields(record_type: str) -> list[CustomField]:
    """The active custom fields of a record type, in their display order."""
    return list(CustomField.objects.filter(record_type=record_type, active=True).order_by("position", "id"))


def required_builtin_fields(record_type: str) -> list[str]:
    """The built-in fields an administrator made required for this record type."""
    allowed = _record_types[record_type].builtin_fields if record_type in _record_types else {}
    names = FieldRule.objects.filter(record_type=record_type, required=True).values_list("field", flat=True)
    return [name for name in names if name in allowed]


def required_builtin_check(record_type: str, record: Any, errors: dict[str, list[str]]) -> None:
    """Add "required" to `errors` for each built-in field the rules require and `record` leaves empty."""
    for name in required_builtin_fields(record_type):
        if name not in errors and getattr(record, name, None) in ("", None):
            errors.setdefault(name, []).append(_("This field is required."))


# --- cleaning values --------------------------------------------------------------------------


class _Refused(Exception):
    """One value refused; the message is already translated and names the field."""


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise InvalidOperation
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "").replace(" ", "")
    number = Decimal(text)
    if not number.is_finite():
        raise InvalidOperation
    return number


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


def _bounds(cf: CustomField, value: Any, parse: Callable[[Any], Any], shown: Callable[[Any], str]) -> None:
    rules = cf.rules or {}
    label = cf.display_label
    if rules.get("min") not in (None, "") and value < parse(rules["min"]):
        raise _Refused(_("%(label)s must be at least %(min)s.") % {"label": label, "min": shown(rules["min"])})
    if rules.get("max") not in (None, "") and value > parse(rules["max"]):
        raise _Refused(_("%(label)s must be at most %(max)s.") % {"label": label, "max": shown(rules["max"])})


def _choice_value(cf: CustomField, value: Any) -> str:
    text = unicodedata.normalize("NFKC", str(value)).strip()
    for choice in cf.choices or []:
        if text == choice["value"]:
            return str(choice["value"])
    folded = text.casefold()
    for choice in cf.choices or []:
        if folded in (str(choice["value"]).casefold(), str(choice.get("label", "")).casefold()):
            return str(choice["value"])
    raise _Refused(
        _("“%(value)s” is not one of the choices of %(label)s.") % {"value": text[:40], "label": cf.display_label}
    )


def _clean_text(cf: CustomField, value: Any) -> str:
    if not isinstance(value, str | int | float | Decimal) or isinstance(value, bool):
        raise _Refused(_("%(label)s must be text.") % {"label": cf.display_label})
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    limit = int((cf.rules or {}).get("max_length") or MAX_TEXT)
    if len(text) > limit:
        raise _Refused(_("%(label)s has at most %(max)s characters.") % {"label": cf.display_label, "max": limit})
    pattern = (cf.rules or {}).get("regex")
    if pattern and not re.fullmatch(pattern, text):
        raise _Refused(_("%(label)s is not in the expected format.") % {"label": cf.display_label})
    return text


def _clean_number(cf: CustomField, value: Any) -> int | float:
    try:
        number = _decimal(value)
    except (InvalidOperation, ValueError):
        raise _Refused(_("%(label)s must be a number.") % {"label": cf.display_label}) from None
    _bounds(cf, number, _decimal, str)
    if number == number.to_integral_value() and abs(number) < 2**53:
        return int(number)
    return float(number)


def _clean_money(cf: CustomField, value: Any) -> str:
    try:
        amount = _decimal(value)
    except (InvalidOperation, ValueError):
        raise _Refused(
            _("%(label)s must be an amount of money, such as 1234.50.") % {"label": cf.display_label}
        ) from None
    if amount != amount.quantize(MONEY_PLACES) or abs(amount) >= MONEY_LIMIT:
        raise _Refused(_("%(label)s must be an amount with at most two decimal places.") % {"label": cf.display_label})
    _bounds(cf, amount, _decimal, lambda v: f"{_decimal(v):.2f}")
    return f"{amount.quantize(MONEY_PLACES):.2f}"


def _clean_date(cf: CustomField, value: Any) -> str:
    try:
        day = _date(value)
    except (TypeError, ValueError):
        raise _Refused(_("%(label)s must be a date, such as 2026-03-01.") % {"label": cf.display_label}) from None
    _bounds(cf, day, _date, str)
    return day.isoformat()


def _clean_multi(cf: CustomField, value: Any) -> list[str]:
    items = _LIST_SEPARATORS.split(value) if isinstance(value, str) else value
    if not isinstance(items, list | tuple | set):
        raise _Refused(_("%(label)s must be a list of choices.") % {"label": cf.display_label})
    chosen = {_choice_value(cf, item) for item in items if str(item).strip()}
    return [c["value"] for c in cf.choices or [] if c["value"] in chosen]


def _clean_boolean(cf: CustomField, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Refused(_("%(label)s must be yes or no.") % {"label": cf.display_label})


def _clean_user(cf: CustomField, value: Any) -> int:
    user_id = value.pk if isinstance(value, User) else value
    if isinstance(user_id, str) and user_id.strip().isdigit():
        user_id = int(user_id)
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise _Refused(_("%(label)s must be a user's id.") % {"label": cf.display_label})
    if not User.objects.filter(pk=user_id, is_active=True).exists():
        raise _Refused(_("%(label)s must be an active user.") % {"label": cf.display_label})
    return user_id


def _clean_url(cf: CustomField, value: Any) -> str:
    url = "".join(str(value).split())
    if "://" not in url:
        url = f"https://{url}"
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise _Refused(_("%(label)s must be a web address.") % {"label": cf.display_label}) from None
    if len(url) > MAX_TEXT:
        raise _Refused(_("%(label)s has at most %(max)s characters.") % {"label": cf.display_label, "max": MAX_TEXT})
    return url


def _clean_email(cf: CustomField, value: Any) -> str:
    try:
        return _normalisers["email"](unicodedata.normalize("NFKC", str(value)), field=cf.form_name)
    except ValidationError:
        raise _Refused(_("%(label)s must be a valid email address.") % {"label": cf.display_label}) from None


def _clean_phone(cf: CustomField, value: Any) -> str:
    try:
        return _normalisers["phone"](unicodedata.normalize("NFKC", str(value)), field=cf.form_name)
    except ValidationError:
        raise _Refused(_("%(label)s must be a valid phone number.") % {"label": cf.display_label}) from None


_CLEANERS: dict[str, Callable[[CustomField, Any], Any]] = {
    CustomField.Kind.TEXT: _clean_text,
    CustomField.Kind.NUMBER: _clean_number,
    CustomField.Kind.MONEY: _clean_money,
    CustomField.Kind.DATE: _clean_date,
    CustomField.Kind.CHOICE: _choice_value,
    CustomField.Kind.MULTI_CHOICE: _clean_multi,
    CustomField.Kind.BOOLEAN: _clean_boolean,
    CustomField.Kind.USER: _clean_user,
    CustomField.Kind.URL: _clean_url,
    CustomField.Kind.EMAIL: _clean_email,
    CustomField.Kind.PHONE: _clean_phone,
}


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == ()


def custom_value_clean(cf: CustomField, value: Any) -> Any:
    """One value in its stored form (None for empty), or a ValidationError under `custom_<key>`."""
    if _is_empty(value):
        return None
    try:
        cleaned = _CLEANERS[cf.kind](cf, value)
    except _Refused as refused:
        raise ValidationError({cf.form_name: [str(refused)]}) from None
    return None if _is_empty(cleaned) else cleaned


# PostgreSQL advisory-lock class for unique custom fields (the object id is the field's id).
_UNIQUE_LOCK = 7_302_001


def _unique_lock(cf: CustomField) -> None:
    """Hold the field's lock until the transaction ends, so two saves of the same unique value cannot both
    pass the check: the second waits, then sees the first's committed value. (A JSON value has no unique
    index to lean on. SQLite's IMMEDIATE transactions already let one writer in at a time.)"""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_UNIQUE_LOCK, cf.pk])


def custom_values_clean(
    *,
    record_type: str,
    values: Mapping[str, Any] | None,
    current: Mapping[str, Any] | None = None,
    instance_pk: int | None = None,
    enforce_required: bool = True,
) -> dict[str, Any]:
    """The record's new `custom` dict: `current` with the submitted `values` cleaned and merged in.

    Only the submitted keys change (an empty value clears one); values for deactivated fields are
    ignored and stored ones kept; an unknown key, a bad value, a missing required value or a value
    another record of the type already has (unique fields; text and email compared ignoring case)
    raises one ValidationError naming every field at fault as `custom_<key>`.
    """
    kind = record_type_get(record_type)
    definitions = {cf.key: cf for cf in CustomField.objects.filter(record_type=record_type)}
    errors: dict[str, list[str]] = {}
    merged = dict(current or {})
    changed: set[str] = set()
    for raw_key, value in (values or {}).items():
        key = raw_key.removeprefix(FORM_PREFIX)
        cf = definitions.get(key)
        if cf is None:
            errors.setdefault(f"{FORM_PREFIX}{key}", []).append(
                _("There is no custom field “%(key)s”.") % {"key": key[:40]}
            )
            continue
        if not cf.active:
            continue
        try:
            cleaned = custom_value_clean(cf, value)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
            continue
        if cleaned is None:
            merged.pop(key, None)
        else:
            merged[key] = cleaned
        changed.add(key)
    for cf in definitions.values():
        if not cf.active or cf.form_name in errors:
            continue
        if enforce_required and cf.required and _is_empty(merged.get(cf.key)):
            errors.setdefault(cf.form_name, []).append(_("%(label)s is required.") % {"label": cf.display_label})
        elif cf.unique and cf.key in changed and not _is_empty(merged.get(cf.key)):
            _unique_lock(cf)
            others = kind.model_class._default_manager.all()
            if instance_pk is not None:
                others = others.exclude(pk=instance_pk)
            if others.filter(equals(cf, merged[cf.key], ignore_case=True)).exists():
                errors.setdefault(cf.form_name, []).append(
                    _("Another record already has this %(label)s.") % {"label": cf.display_label}
                )
    if errors:
        raise ValidationError(errors)
    return merged


def custom_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """`{custom_<key>: [before, after]}` for each key whose value changed (the event's `changes`)."""
    return {
        f"{FORM_PREFIX}{key}": [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


# --- showing values ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomValue:
    """One custom value ready for a page: the field's label, the formatted text, and its PII kind."""

    key: str
    label: str
    text: str
    pii: str = ""


def _shown(cf: CustomField, value: Any, users: Mapping[int, str]) -> str:
    if cf.kind == CustomField.Kind.MONEY:
        return f"{Decimal(str(value)):,.2f}"
    if cf.kind == CustomField.Kind.CHOICE:
        return cf.choice_label(value)
    if cf.kind == CustomField.Kind.MULTI_CHOICE:
        return ", ".join(cf.choice_label(v) for v in value)
    if cf.kind == CustomField.Kind.BOOLEAN:
        return _("Yes") if value else _("No")
    if cf.kind == CustomField.Kind.USER:
        return users.get(value, f"#{value}")
    if cf.kind in _displays:
        return _displays[cf.kind](str(value))
    return str(value)


_displays: dict[str, Callable[[str], str]] = {}


def value_display(kind: str, fn: Callable[[str], str]) -> None:
    """Use `fn` to show stored values of `kind` (customers: phones in national or international form)."""
    _displays[kind] = fn


def custom_display(record_type: str, values: Mapping[str, Any] | None) -> list[CustomValue]:
    """The record's values of active fields, labelled and formatted, in the fields' order."""
    values = values or {}
    fields = [cf for cf in active_fields(record_type) if not _is_empty(values.get(cf.key))]
    user_ids = [values[cf.key] for cf in fields if cf.kind == CustomField.Kind.USER]
    users = {u.pk: str(u) for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    pii_kinds: dict[str, str] = {CustomField.Kind.EMAIL: "email", CustomField.Kind.PHONE: "phone"}
    return [
        CustomValue(cf.key, cf.display_label, _shown(cf, values[cf.key], users), pii_kinds.get(cf.kind, ""))
        for cf in fields
    ]


def custom_masked(values: Mapping[str, Any] | None, *, fields: list[CustomField], user: Any) -> dict[str, Any]:
    """The values of the active `fields` for an API reader: email and phone values masked without `view_pii`."""
    from .pii import pii_value

    out: dict[str, Any] = {}
    kinds = {cf.key: cf.kind for cf in fields if cf.active}
    for key, value in (values or {}).items():
        kind = kinds.get(key)
        if kind is None:
            continue
        if kind in (CustomField.Kind.EMAIL, CustomField.Kind.PHONE):
            value = pii_value(str(value), kind=str(kind), user=user)
        out[key] = value
    return out


# --- filtering --------------------------------------------------------------------------------


def equals(cf: CustomField, value: Any, *, ignore_case: bool = False) -> Q:
    """Rows whose value of `cf` equals `value` (a stored-form value).

    On PostgreSQL this is `custom @> {"key": value}`, which the GIN (jsonb_path_ops) index on each
    `custom` column answers; on SQLite it compares the extracted JSON value.
    """
    folded = ignore_case and cf.kind in (CustomField.Kind.TEXT, CustomField.Kind.EMAIL)
    if folded:
        return Q(**{f"custom__{cf.key}__iexact": value})
    if cf.kind == CustomField.Kind.MULTI_CHOICE:
        if connection.vendor == "postgresql":
            return Q(custom__contains={cf.key: value if isinstance(value, list) else [value]})
        wanted = value if isinstance(value, list) else [value]
        q = Q()
        for item in wanted:
            q &= Q(**{f"custom__{cf.key}__icontains": f'"{item}"'})
        return q
    if connection.vendor == "postgresql":
        return Q(custom__contains={cf.key: value})
    return Q(**{f"custom__{cf.key}": value})


def custom_filter(rows: QuerySet[Any], record_type: str, params: Mapping[str, Any]) -> QuerySet[Any]:
    """Narrow `rows` by `?cf_<key>=value` (equality; one choice for multi-choice fields) and, for
    number, money and date fields, `?cf_<key>__gte=` / `?cf_<key>__lte=`. Values are read the way
    forms read them ("138 0013 8000" finds "+8613800138000"); a bad one raises a ValidationError
    naming the parameter."""
    fields = {cf.key: cf for cf in active_fields(record_type)}
    errors: dict[str, list[str]] = {}
    for name in params:
        if not name.startswith(FILTER_PREFIX):
            continue
        raw = params.get(name)
        if _is_empty(raw):
            continue
        key, _sep, op = name.removeprefix(FILTER_PREFIX).partition("__")
        cf = fields.get(key)
        if cf is None:
            errors.setdefault(name, []).append(_("There is no custom field “%(key)s”.") % {"key": key[:40]})
            continue
        try:
            rows = _filter_one(rows, cf, op, raw)
        except ValidationError as exc:
            errors.setdefault(name, []).extend(m for ms in exc.message_dict.values() for m in ms)
    if errors:
        raise ValidationError(errors)
    return rows


_RANGED = {CustomField.Kind.NUMBER, CustomField.Kind.MONEY, CustomField.Kind.DATE}


def _filter_one(rows: QuerySet[Any], cf: CustomField, op: str, raw: Any) -> QuerySet[Any]:
    if op == "":
        probe = cf
        if cf.kind == CustomField.Kind.MULTI_CHOICE:
            probe = CustomField(key=cf.key, label=cf.label, kind=CustomField.Kind.CHOICE, choices=cf.choices)
        return rows.filter(equals(cf, custom_value_clean(probe, raw)))
    if op not in ("gte", "lte") or cf.kind not in _RANGED:
        raise ValidationError({cf.form_name: [_("This filter is not available for this field.")]})
    bound_field = CustomField(key=cf.key, label=cf.label, kind=cf.kind)  # no min/max rules on a filter
    bound = custom_value_clean(bound_field, raw)
    alias = f"_cf_{cf.key}"
    if cf.kind == CustomField.Kind.DATE:  # ISO dates order as text; the cast keeps JSON lookups out of the way
        expression: Any = Cast(KeyTextTransform(cf.key, "custom"), CharField())
    else:
        expression = Cast(KeyTextTransform(cf.key, "custom"), DecimalField(max_digits=30, decimal_places=6))
        bound = Decimal(str(bound))
    return rows.alias(**{alias: expression}).filter(**{f"{alias}__{op}": bound})


def reserved_keys() -> set[str]:
    """Names a key may not take: they would read as a lookup in `custom__<key>` filters."""
    return set(JSONField.get_class_lookups()) | set(KeyTransform.get_class_lookups())


# --- list columns and filters -----------------------------------------------------------------


def _list_value(cf: CustomField, users: dict[int, str]) -> Callable[[Any], Any]:
    def value(row: Any) -> Any:
        stored: Any = (row.custom or {}).get(cf.key)
        if _is_empty(stored):
            return ""
        if cf.kind == CustomField.Kind.USER and stored not in users:
            users.update({u.pk: str(u) for u in User.objects.filter(pk=int(stored))})
        return _shown(cf, stored, users)

    return value


def list_columns(record_type: str) -> list[Any]:
    """A list column per active custom field of the record type (read on every request: no restart)."""
    from .listviews import Column

    pii_kinds: dict[str, str] = {CustomField.Kind.EMAIL: "email", CustomField.Kind.PHONE: "phone"}
    users: dict[int, str] = {}
    return [
        Column(
            f"{FILTER_PREFIX}{cf.key}",
            cf.display_label,
            _list_value(cf, users),
            sort="" if cf.kind == CustomField.Kind.MULTI_CHOICE else f"custom__{cf.key}",
            pii=pii_kinds.get(cf.kind, ""),
        )
        for cf in active_fields(record_type)
    ]


def _filter_form_fields(cf: CustomField) -> dict[str, Any]:
    from django import forms

    name = f"{FILTER_PREFIX}{cf.key}"
    label = cf.display_label
    if cf.kind in (CustomField.Kind.CHOICE, CustomField.Kind.MULTI_CHOICE):
        choices = [("", "—"), *((c["value"], c["label"]) for c in cf.choices or [])]
        return {name: forms.ChoiceField(label=label, required=False, choices=choices)}
    if cf.kind == CustomField.Kind.BOOLEAN:
        choices = [("", "—"), ("true", _("Yes")), ("false", _("No"))]
        return {name: forms.ChoiceField(label=label, required=False, choices=choices)}
    if cf.kind in _RANGED:
        widget = forms.DateInput(attrs={"type": "date"}) if cf.kind == CustomField.Kind.DATE else forms.NumberInput()
        return {
            f"{name}__gte": forms.CharField(
                label=_("%(field)s from") % {"field": label}, required=False, widget=widget
            ),
            f"{name}__lte": forms.CharField(label=_("%(field)s to") % {"field": label}, required=False, widget=widget),
        }
    return {name: forms.CharField(label=label, required=False, max_length=200)}


def _filter_fields_for(cf: CustomField, viewer: Any) -> dict[str, Any]:
    return _filter_form_fields(cf)


def list_filters(record_type: str) -> list[Any]:
    """A list filter per active custom field (`cf_<key>`, and `__gte`/`__lte` for numbers, money, dates)."""
    from .listviews import Filter

    return [
        Filter(
            f"{FILTER_PREFIX}{cf.key}",
            cf.display_label,
            fields=partial(_filter_fields_for, cf),
            apply=lambda rows, values, viewer: custom_filter(rows, record_type, values),
        )
        for cf in active_fields(record_type)
    ]
