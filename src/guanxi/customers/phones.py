"""Phone numbers: parsed however they are written, stored as E.164, shown in national format."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def default_region() -> str:
    return getattr(settings, "DEFAULT_PHONE_REGION", "CN") or "CN"


def phone_normalise(value: str, *, field: str = "phone") -> str:
    """ "138 0013 8000" → "+8613800138000"; empty stays empty; anything unparseable names `field`."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, default_region())
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            {field: _("“%(value)s” is not a valid phone number.") % {"value": value[:40]}}, code="invalid_phone"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """The stored number as people write it: national format at home, international abroad."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == default_region():
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_digits(text: str) -> str:
    """The digits of a search query, so "138-0013" finds "+8613800138000"."""
    return "".join(c for c in text or "" if c.isdigit())
