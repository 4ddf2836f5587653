"""Personal data: masked for roles without `core.view_pii`; every unmasked view is logged as an event."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from .models import Event

PII_PERMISSION = "core.view_pii"


def mask_email(value: str) -> str:
    local, _at, domain = (value or "").partition("@")
    if not domain:
        return mask_text(value)
    return f"{local[:1]}***@{domain}"


def mask_phone(value: str) -> str:
    digits = [c for c in value or "" if c.isdigit()]
    if len(digits) < 7:
        return "*" * len(digits)
    return "".join(digits[:3]) + "****" + "".join(digits[-4:])


def mask_text(value: str) -> str:
    value = value or ""
    return value[:1] + "*" * max(0, min(len(value) - 1, 6)) if value else ""


MASKERS = {"email": mask_email, "phone": mask_phone, "text": mask_text}

# Which fields of which model hold personal data, and how to mask them: `{"core.user": {"email": "email"}}`.
# Apps add theirs with `pii_fields(...)`; the audit log and exports use it to mask before/after values.
_PII_FIELDS: dict[str, dict[str, str]] = {}


def pii_fields(model_label: str, fields: dict[str, str]) -> None:
    """Declare the personal-data fields of a model (`app_label.modelname`) and their mask kind."""
    _PII_FIELDS.setdefault(model_label.lower(), {}).update(fields)


def mask_changes(changes: dict[str, Any], *, model_label: str, user: Any) -> dict[str, Any]:
    """An event's `{field: [before, after]}` with personal-data values masked for this viewer."""
    if can_view_pii(user):
        return changes
    kinds = _PII_FIELDS.get(model_label.lower(), {})
    if any(name.startswith("custom_") for name in changes):
        kinds = {**kinds, **_custom_pii_kinds(model_label.lower())}
    if not kinds:
        return changes
    return {
        name: [MASKERS[kinds[name]](str(v)) if v else v for v in values] if name in kinds else values
        for name, values in changes.items()
    }


pii_fields("core.user", {"email": "email", "phone": "phone"})


def _custom_pii_kinds(model_label: str) -> dict[str, str]:
    """`{custom_<key>: kind}` for the model's email and phone custom fields, retired ones included (history
    keeps their old values)."""
    from .customfields import FORM_PREFIX, record_types
    from .models import CustomField

    keys = [rt.key for rt in record_types() if rt.model == model_label]
    if not keys:
        return {}
    kinds: dict[str, str] = {CustomField.Kind.EMAIL.value: "email", CustomField.Kind.PHONE.value: "phone"}
    rows = CustomField.objects.filter(record_type__in=keys, kind__in=list(kinds)).values_list("key", "kind")
    return {f"{FORM_PREFIX}{key}": kinds[kind] for key, kind in rows}


def can_view_pii(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(PII_PERMISSION))


def pii_value(value: str, *, kind: str, user: Any) -> str:
    """The value as this user may see it: whole with `view_pii`, masked without."""
    if not value or can_view_pii(user):
        return value
    return MASKERS[kind](value)


@transaction.atomic
def pii_log_views(*, user: Any, records: Iterable[models.Model], fields: Iterable[str], channel: str) -> int:
    """Log that `user` saw these records' personal fields unmasked (one audit row per record)."""
    if not can_view_pii(user):
        return 0
    records = [r for r in records if r.pk is not None]
    if not records:
        return 0
    content_type = ContentType.objects.get_for_model(records[0])
    fields = sorted(fields)
    Event.objects.bulk_create(
        Event(
            actor=user,
            actor_label=str(user),
            content_type=content_type,
            object_id=record.pk,
            object_repr=str(record)[:200],
            action="pii_viewed",
            data={"fields": fields, "channel": channel},
        )
        for record in records
    )
    return len(records)
