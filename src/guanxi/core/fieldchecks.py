"""A model's own field checks (lengths, choices, required, URLs …) applied to plain values, fast.

`Model.full_clean()` on a new instance runs `Field.clean()` on every field: most of an import's time
when done a million times, together with building the instance. `FieldChecks` is compiled once per
model and set of excluded fields and gives exactly the errors `full_clean(exclude=…)` gives on an
instance built from the same values, without building one:

- a value Django would skip (blank allowed and empty) is skipped;
- a non-empty string for a field whose only checks are its length and choices (plain CharField,
  TextField) is accepted when it fits: Django's `clean()` returns that very string without error then;
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
_MISSING = object()


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
        # (field, attname, default or _MISSING when it must be computed per row, fast limit, choices)
        self.fields: list[tuple[models.Field[Any, Any], str, Any, int | None, frozenset[str] | None, bool]] = []
        for f in model._meta.fields:
            if f.name in excluded or getattr(f, "generated", False):
                continue
            if any(getattr(f, f"unique_for_{part}", None) for part in ("date", "month", "year")):
                raise TypeError(f"{model.__name__}.{f.name} is unique by date; FieldChecks cannot replace full_clean")
            if f.unique and not f.primary_key:
                self.unique.append(f.attname)  # full_clean asks the database only when it has a value
            default = _MISSING if f.has_default() and callable(f.default) else f.get_default()
            self.fields.append((f, f.attname, default, *self._fast(f)))

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

    def check(self, values: dict[str, Any], errors: Errors) -> None:
        """Add the errors `full_clean` would raise to `errors`; fields already in `errors` are not checked again."""
        for attname in self.unique:
            if values.get(attname) is not None:
                raise TypeError(f"{self.model.__name__}.{attname} is unique: checking it needs the database")
        for f, attname, default, limit, choices, fast in self.fields:
            raw = values.get(attname, _MISSING)
            if raw is _MISSING:
                raw = f.get_default() if default is _MISSING else default
            if f.blank and raw in f.empty_values:
                continue
            if f.name in errors:
                continue
            if (
                fast
                and type(raw) is str
                and raw
                and (limit is None or len(raw) <= limit)
                and (choices is None or raw in choices)
            ):
                continue
            try:
                f.clean(raw, None)
            except ValidationError as exc:
                errors[f.name] = list(ValidationError({f.name: exc.error_list}).message_dict[f.name])
