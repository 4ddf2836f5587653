"""A model's own field checks (lengths, choices, required, URLs …) applied to plain values, fast.

`Model.full_clean()` on a new instance runs `Field.clean()` on every field: most of an import's time
when done a million times, together with building the instance. `FieldChecks` is compiled once per
model and set of excluded fields and gives exactly the errors `full_clean(exclude=…)` gives on an
instance built from the same values, without building one:

- a value Django would skip (blank allowed and empty) is skipped;
- a non-empty string for a field whose only checks are its length and choices (plain CharField,
  TextField) is accepted when it fits: Django's `clean()` returns that very string without error then;
- a field left at its (non-callable) default gets the verdict Django gave that default the first time;
- anything else goes through Django's own `field.clean()`, so each refusal has Django's message.

Only models without constraints or a `clean()` of their own, and values without a value for a unique
field, can be checked this way (`full_clean` would also run those, asking the database); `FieldChecks`
refuses others.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models

Errors = dict[str, list[str]]


class FieldChecks:
    """`full_clean(exclude=…)` of a new `model` instance, for a dict of attribute values."""

    def __init__(self, model: type[models.Model], exclude: Iterable[str] = ()) -> None:
        if model.clean is not models.Model.clean:
            raise TypeError(f"{model.__name__} has its own clean(); FieldChecks cannot replace full_clean")
        if model._meta.total_unique_constraints or model._meta.constraints or model._meta.unique_together:
            raise TypeError(f"{model.__name__} has constraints; FieldChecks cannot replace full_clean")
        excluded = set(exclude)
        self.model = model
        self.unique: list[str] = []
        # attname → (field, position in the model, length limit, allowed choices, fast)
        self.fields: dict[str, tuple[models.Field[Any, Any], int, int | None, frozenset[str] | None, bool]] = {}
        for position, f in enumerate(model._meta.fields):
            if f.name in excluded or getattr(f, "generated", False):
                continue
            if any(getattr(f, f"unique_for_{part}", None) for part in ("date", "month", "year")):
                raise TypeError(f"{model.__name__}.{f.name} is unique by date; FieldChecks cannot replace full_clean")
            if f.unique and not f.primary_key:
                self.unique.append(f.attname)  # full_clean asks the database only when it has a value
            self.fields[f.attname] = (f, position, *self._fast(f))
        self.attnames = frozenset(self.fields)
        # the errors of a field left at its default are the same every time: worked out once (None: passes)
        self.default_errors: dict[str, list[str] | None] = {}

    @staticmethod
    def _fast(f: models.Field[Any, Any]) -> tuple[int | None, frozenset[str] | None, bool]:
        """(length limit, allowed choices, fast) for a field whose only checks are length and choices."""
        if type(f) not in (models.CharField, models.TextField):
            return None, None, False
        limit = None
        for validator in f.validators:
            if type(validator) is not MaxLengthValidator or validator.limit_value != f.max_length:
                return None, None, False
            limit = f.max_length
        choices = frozenset(str(key) for key, _label in f.flatchoices) if f.choices else None
        return limit, choices, True

    @staticmethod
    def _errors(f: models.Field[Any, Any], raw: Any) -> list[str] | None:
        """Django's own verdict on one value, as `full_clean` reports it (None when it passes)."""
        if f.blank and raw in f.empty_values:
            return None
        try:
            f.clean(raw, None)
        except ValidationError as exc:
            return list(ValidationError({f.name: exc.error_list}).message_dict[f.name])
        return None

    def check(self, values: dict[str, Any], errors: Errors) -> None:
        """Add the errors `full_clean` would raise to `errors`; fields already in `errors` are not checked again.

        New errors are added in the model's field order, as `full_clean` reports them.
        """
        for attname in self.unique:
            if values.get(attname) is not None:
                raise TypeError(f"{self.model.__name__}.{attname} is unique: checking it needs the database")
        found: list[tuple[int, str, list[str]]] = []
        fields = self.fields
        for attname, raw in values.items():
            spec = fields.get(attname)
            if spec is None:
                continue
            f, position, limit, choices, fast = spec
            if (
                fast
                and isinstance(raw, str)
                and raw
                and (limit is None or len(raw) <= limit)
                and (choices is None or raw in choices)
            ):
                continue
            if f.name in errors:
                continue
            messages = self._errors(f, raw)
            if messages:
                found.append((position, f.name, messages))
        for attname in self.attnames - values.keys():
            if attname not in self.default_errors:
                f = fields[attname][0]
                if f.has_default() and callable(f.default):
                    messages = self._errors(f, f.get_default())  # a new value each time: checked each time
                    if messages and f.name not in errors:
                        found.append((fields[attname][1], f.name, messages))
                    continue
                self.default_errors[attname] = self._errors(f, f.get_default())
            messages = self.default_errors[attname]
            if messages and fields[attname][0].name not in errors:
                found.append((fields[attname][1], fields[attname][0].name, list(messages)))
        if found:
            for _position, name, messages in sorted(found, key=lambda item: item[0]):
                errors[name] = messages
