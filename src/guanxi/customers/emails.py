"""Email addresses: validated by email-validator and stored normalised (the domain lower-cased).

`email_validator` takes some 100 µs per address, most of it on the domain. The common address, a
plain ASCII dot-atom before the @ and a domain already seen, takes a proven shortcut (`_fast`): for
such a local part email-validator's verdict and normal form depend on the domain alone (the local
part is accepted and kept as typed; only the total length and a few role names such as "postmaster",
which it lower-cases, involve it, and both are handled), so the domain's verdict from the first
address with it is reused. tests/customers/test_emails.py checks fast == slow on random addresses.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES, DOT_ATOM_TEXT, EMAIL_MAX_LENGTH

_PLAIN = re.compile(r"([^@\"<>\s]+)@([A-Za-z0-9.\-]+)")
_CACHE_LIMIT = 100_000
# domain as typed → (normal form of the domain, its IDNA ASCII form), from email-validator's verdict
_domains: dict[str, tuple[str, str]] = {}


def _invalid(value: str, field: str) -> ValidationError:
    return ValidationError(
        {field: _("“%(value)s” is not a valid email address.") % {"value": value[:80]}}, code="invalid_email"
    )


def _slow(value: str, field: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise _invalid(value, field) from None


def _fast(value: str) -> str | None:
    """The normal form when the shortcut applies and the domain is known good; None to ask email-validator."""
    plain = _PLAIN.fullmatch(value)
    if plain is None:
        return None
    local, domain = plain.group(1), plain.group(2)
    known = _domains.get(domain)
    if known is None or not DOT_ATOM_TEXT.match(local) or local.lower() in CASE_INSENSITIVE_MAILBOX_NAMES:
        return None
    normal, ascii_domain = known
    longest = max(len(domain), len(normal.encode("utf-8")), len(ascii_domain))
    if len(local) + 1 + longest > EMAIL_MAX_LENGTH:
        return None
    return f"{local}@{normal}"


def email_normalise(value: str, *, field: str = "email") -> str:
    """ "Wei.Zhang@Example.COM " → "Wei.Zhang@example.com"; empty stays empty; a bad address names `field`."""
    value = (value or "").strip()
    if not value:
        return ""
    fast = _fast(value)
    if fast is not None:
        return fast
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise _invalid(value, field) from None
    plain = _PLAIN.fullmatch(value)
    if plain is not None and checked.local_part == plain.group(1) and checked.ascii_domain:
        if len(_domains) >= _CACHE_LIMIT:
            _domains.clear()
        _domains.setdefault(plain.group(2), (checked.domain, checked.ascii_domain))
    return str(checked.normalized)
