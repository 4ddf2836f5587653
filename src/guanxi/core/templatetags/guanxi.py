"""Template helpers shared by every app's pages."""

from datetime import date, datetime
from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from guanxi.core.customfields import FORM_PREFIX, record_type_of
from guanxi.core.events import ACTION_LABELS
from guanxi.core.jobs import KIND_LABELS
from guanxi.core.pii import pii_value
from guanxi.core.roles import permission_label
from guanxi.core.selectors import custom_fields

register = template.Library()


@register.simple_tag(takes_context=True)
def pii(context: dict[str, Any], value: str, kind: str = "text") -> str:
    """`{% pii contact.phone "phone" %}`: the value, masked unless the viewer has `core.view_pii`."""
    return pii_value(value, kind=kind, user=context["request"].user)


@register.filter
def action_label(code: str) -> str:
    """An event action's translated display name (the code itself when none is registered)."""
    return str(ACTION_LABELS.get(code, code))


register.filter("permission_label", permission_label)


@register.filter
def job_label(kind: str) -> str:
    """A job kind's translated display name."""
    return gettext(KIND_LABELS.get(kind, kind))


@register.simple_tag(takes_context=True)
def visible_changes(context: dict[str, Any], event: Any) -> list[tuple[str, Any, Any]]:
    """`{% visible_changes event as changes %}`: (field label, before, after) rows in the reader's language,
    choice values shown by their labels, personal data masked for the viewer."""
    model = event.content_type.model_class()
    rows = []
    for name, values in event.changes_for(context["request"].user).items():
        before, after = [*values, None, None][:2] if isinstance(values, list) else (None, values)
        field = _model_field(model, name)
        if field is None:
            rows.append((_custom_label(context, model, name), before, after))
            continue
        choices = dict(field.flatchoices) if field.choices else {}
        rows.append((str(field.verbose_name), _choice_label(choices, before), _choice_label(choices, after)))
    return rows


def _choice_label(choices: dict[Any, Any], value: Any) -> Any:
    """A choice value's label; other values (lists, dicts, numbers) unchanged."""
    return choices.get(value, value) if isinstance(value, str | int) else value


def _model_field(model: Any, name: str) -> Any:
    if model is None:
        return None
    for candidate in (name, name.removesuffix("_id")):
        try:
            return model._meta.get_field(candidate)
        except FieldDoesNotExist:
            continue
    return None


@register.simple_tag(takes_context=True)
def list_cell(context: dict[str, Any], column: Any, row: Any) -> SafeString:
    """`{% list_cell column row %}`: one cell of a list view, personal data masked for the viewer."""
    value = column.display(row, context["request"].user)
    if column.template:
        return mark_safe(render_to_string(column.template, {"row": row, "value": value, "column": column}))
    if value in ("", None):
        return mark_safe('<span class="text-secondary">—</span>')
    if isinstance(value, datetime):
        value = formats.date_format(timezone.localtime(value), "SHORT_DATE_FORMAT")
    elif isinstance(value, date):
        value = formats.date_format(value, "SHORT_DATE_FORMAT")
    return conditional_escape(value)


def _custom_label(context: dict[str, Any], model: Any, name: str) -> str:
    """`custom_<key>` → the custom field's label (definitions read once per request and model)."""
    if model is None or not name.startswith(FORM_PREFIX):
        return name
    try:
        record_type = record_type_of(model).key
    except LookupError:
        return name
    cache = context["request"].__dict__.setdefault("_gx_custom_labels", {})
    if record_type not in cache:
        cache[record_type] = {cf.form_name: cf.display_label for cf in custom_fields(record_type)}
    return cache[record_type].get(name, name)
