"""Conditions over a record's fields: and/or groups of {field, op, value}, checked at save, evaluated without eval.

Shape: {"match": "all"|"any", "groups": [{"match": "all"|"any", "rules": [{"field", "op", "value"}]}]}.
A field is a model field ("status"), a custom field ("custom.<key>"), a related record's field
("owner.email", "converted_account.tier") or "tags" (the record's tag names).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from guanxi.core import customfields
from guanxi.core.models import CustomField

OPERATORS = ("eq", "ne", "gt", "lt", "gte", "lte", "contains", "in", "is_empty", "changed_to", "changed_from")
ORDERED = {"gt", "lt", "gte", "lte"}
NUMBER, TEXT, DATE, BOOL, LIST = "number", "text", "date", "bool", "list"


@dataclass(frozen=True)
class FieldInfo:
    """What a condition may say about one field: its value type and, for choice fields, its values."""

    path: str
    kind: str
    choices: tuple[str, ...] = ()


def _kind_of(field: models.Field) -> str:
    if isinstance(field, models.BooleanField):
        return BOOL
    if isinstance(field, models.IntegerField | models.FloatField | models.DecimalField):
        return NUMBER
    if isinstance(field, models.DateField):  # DateTimeField is a DateField
        return DATE
    if isinstance(field, models.ForeignKey):
        return NUMBER
    return TEXT


_CUSTOM_KINDS: dict[str, str] = {
    CustomField.Kind.NUMBER: NUMBER,
    CustomField.Kind.MONEY: NUMBER,
    CustomField.Kind.DATE: DATE,
    CustomField.Kind.BOOLEAN: BOOL,
    CustomField.Kind.MULTI_CHOICE: LIST,
    CustomField.Kind.USER: NUMBER,
}


def record_type_key(model: type[models.Model]) -> str | None:
    """The custom-field record type of a model ("lead"), or None when it carries no custom fields."""
    try:
        found = customfields.record_type_of(model)
    except LookupError:
        return None
    return found.key if found is not None else None


def field_info(model: type[models.Model], path: str) -> FieldInfo | None:
    """The field a condition path names on `model`, or None when there is no such (active) field."""
    if path == "tags":
        return FieldInfo(path, LIST)
    if path.startswith("custom."):
        record_type = record_type_key(model)
        if record_type is None:
            return None
        key = path.removeprefix("custom.")
        for cf in customfields.active_fields(record_type):
            if cf.key == key:
                choices = tuple(str(c.get("value")) for c in cf.choices or [])
                return FieldInfo(path, _CUSTOM_KINDS.get(cf.kind, TEXT), choices)
        return None
    head, _dot, rest = path.partition(".")
    try:
        field = model._meta.get_field(head)
    except FieldDoesNotExist:
        return None
    if rest:
        if not isinstance(field, models.ForeignKey) or "." in rest:
            return None
        return field_info(field.related_model, rest)
    if not getattr(field, "concrete", False) or isinstance(field, models.ManyToManyField | models.JSONField):
        return None
    concrete: Any = field
    choices = tuple(str(value) for value, _label in (concrete.choices or []))
    return FieldInfo(path, _kind_of(concrete), choices)


def _typed(kind: str, value: Any) -> Any:
    """The value as the field's type, or ValueError."""
    if value is None:
        return None
    if kind == NUMBER:
        if isinstance(value, bool):
            raise ValueError
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise ValueError from None
    if kind == DATE:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        parsed = parse_date(str(value)) or (parse_datetime(str(value)) or None)
        if parsed is None:
            raise ValueError
        return parsed.date() if isinstance(parsed, datetime) else parsed
    if kind == BOOL:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "1", "yes"}:
            return True
        if text in {"false", "0", "no"}:
            return False
        raise ValueError
    if kind == LIST:
        return [str(v) for v in value] if isinstance(value, list) else str(value)
    return str(value)


def condition_rules(conditions: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for group in conditions.get("groups", []) or [] for rule in group.get("rules", []) or []]


def conditions_check(conditions: Any, model: type[models.Model] | None, *, field: str = "conditions") -> dict[str, Any]:
    """The conditions cleaned, or a ValidationError naming the group, row and field at fault."""
    if conditions in (None, "", {}):
        return {}
    if not isinstance(conditions, dict) or not isinstance(conditions.get("groups", []), list):
        raise ValidationError({field: _("Conditions must be a list of groups of rows.")})
    errors: list[str] = []
    groups = []
    for g, group in enumerate(conditions.get("groups") or [], start=1):
        rules = []
        for r, row in enumerate((group or {}).get("rules") or [], start=1):
            where = _("group %(group)s, row %(row)s") % {"group": g, "row": r}
            path, op, value = str(row.get("field") or ""), str(row.get("op") or ""), row.get("value")
            if op not in OPERATORS:
                errors.append(_("%(where)s: unknown operator “%(op)s”.") % {"where": where, "op": op})
                continue
            info = field_info(model, path) if model is not None else None
            if info is None:
                errors.append(
                    _("%(where)s: the field “%(field)s” does not exist (or was deleted).")
                    % {"where": where, "field": path}
                )
                continue
            if op in ORDERED and info.kind not in {NUMBER, DATE}:
                errors.append(
                    _("%(where)s: “%(field)s” cannot be compared with “%(op)s”.")
                    % {"where": where, "field": path, "op": op}
                )
                continue
            if op != "is_empty":
                values = value if op == "in" else [value]
                if op == "in" and not isinstance(value, list):
                    values = [v.strip() for v in str(value or "").split(",") if v.strip()]
                try:
                    for item in values:
                        _typed(TEXT if op == "contains" else info.kind, item)
                except ValueError:
                    errors.append(
                        _("%(where)s: “%(value)s” is not a valid value for “%(field)s”.")
                        % {"where": where, "value": value, "field": path}
                    )
                    continue
                if info.choices and op in {"eq", "ne", "in", "changed_to", "changed_from"}:
                    wrong = [str(v) for v in values if v not in (None, "") and str(v) not in info.choices]
                    if wrong:
                        errors.append(
                            _("%(where)s: “%(value)s” is not one of the choices of “%(field)s” (%(choices)s).")
                            % {"where": where, "value": wrong[0], "field": path, "choices": ", ".join(info.choices)}
                        )
                        continue
                value = values if op == "in" else value
            rules.append({"field": path, "op": op, "value": value})
        if rules:
            groups.append({"match": "any" if (group or {}).get("match") == "any" else "all", "rules": rules})
    if errors:
        raise ValidationError({field: errors})
    if not groups:
        return {}
    return {"match": "any" if conditions.get("match") == "any" else "all", "groups": groups}


def field_value(record: models.Model, path: str) -> Any:
    """The value a condition path names on a record (None when a related record is missing)."""
    if path == "tags":
        return sorted(t.name for t in record.tags.all())  # type: ignore[attr-defined]
    if path.startswith("custom."):
        return (getattr(record, "custom", None) or {}).get(path.removeprefix("custom."))
    head, _dot, rest = path.partition(".")
    if rest:
        related = getattr(record, head, None)
        return None if related is None else field_value(related, rest)
    field: Any = record._meta.get_field(head)
    return getattr(record, field.attname)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _compare(kind: str, op: str, actual: Any, expected: Any) -> bool:
    if op == "is_empty":
        return _empty(actual) if expected in (None, True, "true", "1") else not _empty(actual)
    if op == "contains":
        if isinstance(actual, list):
            return str(expected) in [str(a) for a in actual]
        return str(expected).lower() in str(actual or "").lower()
    try:
        left = _typed(kind, actual)
        if op == "in":
            return left in [_typed(kind, v) for v in expected]
        right = _typed(kind, expected)
    except ValueError:
        return False
    if op in {"eq", "changed_to", "changed_from"}:
        return left == right or (_empty(left) and _empty(right))
    if op == "ne":
        return not (left == right or (_empty(left) and _empty(right)))
    if left is None or right is None:
        return False
    return {"gt": left > right, "lt": left < right, "gte": left >= right, "lte": left <= right}[op]


def _row_holds(row: dict[str, Any], record: models.Model | None, changes: dict[str, Any], kind: str) -> bool:
    path, op, value = row["field"], row["op"], row.get("value")
    if op in {"changed_to", "changed_from"}:
        key = "custom_" + path.removeprefix("custom.") if path.startswith("custom.") else path
        key = key if key in changes else f"{key}_id"  # a relation's change is recorded under its column
        if key not in changes:
            return False
        before, after = changes[key]
        return _compare(kind, op, after if op == "changed_to" else before, value)
    if record is None:
        return False
    return _compare(kind, op, field_value(record, path), value)


def conditions_hold(
    conditions: dict[str, Any],
    record: models.Model | None,
    changes: dict[str, Any] | None = None,
    *,
    infos: dict[tuple[Any, str], FieldInfo | None] | None = None,
) -> tuple[bool, list[dict[str, Any]]]:
    """Whether the conditions hold for the record (and the event's changes), with each row's result.

    `infos` caches the fields' types across calls (the dispatcher keeps one per batch)."""
    if not conditions or not conditions.get("groups"):
        return True, []
    trace: list[dict[str, Any]] = []
    model = type(record) if record is not None else None
    results = []
    for group in conditions["groups"]:
        rows = []
        for row in group["rules"]:
            if model is None:
                info = None
            elif infos is None:
                info = field_info(model, row["field"])
            elif (model, row["field"]) in infos:
                info = infos[(model, row["field"])]
            else:
                info = infos[(model, row["field"])] = field_info(model, row["field"])
            held = _row_holds(row, record, changes or {}, info.kind if info else TEXT)
            trace.append({**row, "held": held})
            rows.append(held)
        results.append(any(rows) if group.get("match") == "any" else all(rows))
    return (any(results) if conditions.get("match") == "any" else all(results)), trace
