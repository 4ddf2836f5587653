"""Company registration numbers: the 18-character unified social credit code (统一社会信用代码) is checked."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# GB 32100-2015: 31 characters (no I, O, S, V, Z) and the weights of the first 17 positions.
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_LENGTH = 18


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def registration_normalise(value: str, *, field: str = "registration_number") -> str:
    """Upper-case without spaces; an 18-character value must be a valid unified social credit code.

    Other lengths are kept as typed: foreign companies and older registration numbers have their own shapes.
    """
    value = "".join((value or "").split()).upper()
    if len(value) != USCC_LENGTH:
        return value
    if any(c not in USCC_CHARS for c in value):
        raise ValidationError(
            {field: _("A unified social credit code uses only digits and capital letters other than I, O, S, V, Z.")},
            code="invalid_uscc",
        )
    if uscc_check_char(value[:17]) != value[17]:
        raise ValidationError(
            {field: _("This unified social credit code fails its check digit; check it for a typo.")},
            code="invalid_uscc",
        )
    return value
