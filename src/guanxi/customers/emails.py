"""Email addresses: validated by email-validator and stored normalised (the domain lower-cased)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email


def email_normalise(value: str, *, field: str = "email") -> str:
    """ "Wei.Zhang@Example.COM " → "Wei.Zhang@example.com"; empty stays empty; a bad address names `field`."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationError(
            {field: _("“%(value)s” is not a valid email address.") % {"value": value[:80]}}, code="invalid_email"
        ) from None
