"""Phone numbers: parsed however they are written, stored as E.164, shown in national format.

`phone_normalise` asks phonenumbers (`_phone_parse`). Parsing and validating one number takes
phonenumbers some 100 µs, most of an import's time, so numbers of the plainest shape take a proven
shortcut (`_fast_verdict`): see `FastPlan`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE


def default_region() -> str:
    return getattr(settings, "DEFAULT_PHONE_REGION", "CN") or "CN"


def _invalid(value: str, field: str) -> ValidationError:
    return ValidationError(
        {field: _("“%(value)s” is not a valid phone number.") % {"value": value[:40]}}, code="invalid_phone"
    )


def _phone_parse(value: str, region: str) -> str | None:
    """phonenumbers' own verdict: the E.164 form of a valid number, None for anything else."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_normalise(value: str, *, field: str = "phone") -> str:
    """ "138 0013 8000" → "+8613800138000"; empty stays empty; anything unparseable names `field`."""
    value = (value or "").strip()
    if not value:
        return ""
    e164 = _fast_verdict(value, default_region())
    if e164 is None:
        raise _invalid(value, field)
    return e164


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


# --- the shortcut -------------------------------------------------------------------------------
#
# For a number written as ASCII digits in groups separated by single spaces or dashes, optionally after
# "+CC" or "(+CC)", phonenumbers reads the country code CC (the home region's when there is none) and
# the national number N, those digits, unless N starts with something parsing treats specially: a
# leading 0, the national (carrier) prefix, or without "+CC" the home country code or international
# prefix. Those go the slow way. For the others, whether N is valid is decided by number patterns
# alone (for each region of CC: the general description and each number type, a full match with a set
# of allowed lengths, and the leading digits that pick the region, a match at the start).
# `pattern_depth` proves, by walking the parsed patterns, that for numbers starting with digit d no
# pattern looks past the first depths[d] digits (every later atom is "any digit"): so two such numbers
# with the same region, shape, first depths[d] digits and length get the same verdict. The verdict of
# the first number seen with a key is phonenumbers' own (and a valid one must come out as "+CC" + N,
# else the key is marked slow); the rest reuse it. tests/customers/test_phones.py checks fast == slow
# on random numbers of every kind.

_FAST_SHAPE = re.compile(r"(\(\+[0-9]{1,3}\)|\+)?[ -]?([0-9]+(?:[ -][0-9]+)*)")
_CACHE_LIMIT = 200_000
_SLOW = "slow"


class _Unsupported(Exception):
    """A pattern construct the prover does not handle: no shortcut for that leading digit."""


_DIGITS = frozenset("0123456789")


def _charset(op: Any, av: Any) -> frozenset[str] | None:
    """The digits one regex atom accepts, or None when the item is not a single-character atom."""
    if op is sre.LITERAL:
        return frozenset({chr(av)}) & _DIGITS
    if op is sre.ANY:
        return _DIGITS
    if op is not sre.IN:
        return None
    accepted: set[str] = set()
    negate = False
    for sop, sav in av:
        if sop is sre.NEGATE:
            negate = True
        elif sop is sre.LITERAL:
            accepted.add(chr(sav))
        elif sop is sre.RANGE:
            accepted.update(chr(code) for code in range(sav[0], sav[1] + 1))
        elif sop is sre.CATEGORY and sav is sre.CATEGORY_DIGIT:
            accepted.update(_DIGITS)
        else:
            raise _Unsupported(str(sop))
    digits = frozenset(accepted) & _DIGITS
    return _DIGITS - digits if negate else digits


State = tuple[int, int, int]  # (fewest characters consumed, most consumed, characters looked at)


def _walk(items: Any, states: set[State], first: str) -> set[State]:
    for op, av in items:
        following: set[State] = set()
        for state in states:
            following |= _step(op, av, state, first)
        states = following
    return states


def _step(op: Any, av: Any, state: State, first: str) -> set[State]:
    low, high, depth = state
    accepted = _charset(op, av)
    if accepted is not None:
        if not accepted or (low == high == 0 and first not in accepted):
            return set()  # this path cannot match a number starting with `first`
        return {(low + 1, high + 1, depth if accepted == _DIGITS else max(depth, high + 1))}
    if op is sre.SUBPATTERN:
        return _walk(av[3], {state}, first)
    if op is sre.BRANCH:
        out: set[State] = set()
        for alternative in av[1]:
            out |= _walk(alternative, {state}, first)
        return out
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        fewest, most, body = av
        if most is sre.MAXREPEAT or most > 32:
            raise _Unsupported("unbounded repeat")
        if len(body) == 1 and _charset(*body[0]) == _DIGITS:
            return {(low + fewest, high + most, depth)}
        out = set()
        for times in range(fewest, most + 1):
            reached = {state}
            for _times in range(times):
                reached = _walk(body, reached, first)
            out |= reached
        return out
    raise _Unsupported(str(op))


@functools.lru_cache(maxsize=4096)
def _parsed(pattern: str) -> Any:
    return sre_parse.parse(pattern)


def pattern_depth(pattern: str, first: str) -> int:
    """How many leading characters a full match of `pattern` on a digit string starting with `first` depends on.

    Past that many characters every atom the pattern can use is "any digit", so two strings of the same
    length that agree on that many leading characters both match or both do not.
    """
    states = _walk(_parsed(pattern), {(0, 0, 0)}, first)
    return max((depth for _low, _high, depth in states), default=0)


@dataclass(frozen=True)
class FastPlan:
    """What the shortcut needs for one country calling code, computed once from phonenumbers' own metadata."""

    country_code: str
    depths: dict[str, int]  # leading digit → digits that decide validity (proved by `pattern_depth`)
    lengths: frozenset[int]
    national_prefix: re.Pattern[str] | None  # of the code's main region, stripped when parsing


_DESCS = (
    "general_desc",
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


@functools.cache
def fast_plan(country_code: int) -> FastPlan | None:
    """The shortcut's plan for numbers with this calling code, or None when its metadata does not allow one.

    Validity of a number under a calling code shared by several regions (+1, +44) goes through each
    region's patterns and leading digits in turn (`region_code_for_number`); all of them are proved.
    """
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    found = [PhoneMetadata.metadata_for_region(region) for region in regions]
    metadatas = [m for m in found if m is not None]
    if not metadatas or len(metadatas) != len(found):
        return None
    patterns: list[tuple[str, str]] = []  # (pattern, "full" or "prefix" match)
    lengths: set[int] = set()
    for metadata in metadatas:
        for name in _DESCS:
            desc = getattr(metadata, name)
            if desc is not None and desc.national_number_pattern:
                patterns.append((desc.national_number_pattern, "full"))
        if metadata.leading_digits:
            patterns.append((metadata.leading_digits, "prefix"))
        if metadata.general_desc is not None:
            lengths.update(metadata.general_desc.possible_length)
    depths: dict[str, int] = {}
    for first in "123456789":
        try:
            depths[first] = max(1, *(pattern_depth(p, first) for p, _how in patterns))
        except _Unsupported:
            continue
    main = metadatas[0]
    npfp = main.national_prefix_for_parsing or (main.national_prefix or "")
    return FastPlan(
        country_code=str(country_code),
        depths=depths,
        lengths=frozenset(lengths),
        national_prefix=re.compile(npfp) if npfp else None,
    )


@functools.cache
def _home(region: str) -> tuple[FastPlan, re.Pattern[str] | None] | None:
    """The plan for numbers written without a country code in `region`, and the region's international prefix."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return None
    plan = fast_plan(metadata.country_code)
    if plan is None:
        return None
    return plan, re.compile(metadata.international_prefix) if metadata.international_prefix else None


_verdicts: dict[tuple[str, str, str, int], str | None] = {}


def _fast_verdict(value: str, region: str) -> str | None:
    """`_phone_parse(value, region)`, answered from the verdict of an equivalent number when proved equal."""
    shape = _FAST_SHAPE.fullmatch(value)
    if shape is None:
        return _phone_parse(value, region)
    prefix = shape.group(1) or ""
    national = shape.group(2).replace(" ", "").replace("-", "")
    plan: FastPlan | None
    if prefix == "+":  # the country code is the first 1 to 3 digits that are one, as phonenumbers reads it
        code = next((national[:n] for n in (1, 2, 3) if int(national[:n]) in COUNTRY_CODE_TO_REGION_CODE), "")
        if not code or national[0] == "0":
            return _phone_parse(value, region)
        prefix, national = f"+{code}", national[len(code) :]
    if prefix:
        plan = fast_plan(int(prefix.strip("()+")))
        if plan is None or not national:
            return _phone_parse(value, region)
    else:
        home = _home(region)
        if home is None:
            return _phone_parse(value, region)
        plan, international = home
        if national.startswith(plan.country_code) or (international is not None and international.match(national)):
            return _phone_parse(value, region)
    depth = plan.depths.get(national[:1], 0)
    if (
        not depth
        or len(national) not in plan.lengths
        or (plan.national_prefix is not None and plan.national_prefix.match(national))
    ):
        return _phone_parse(value, region)
    e164 = f"+{plan.country_code}{national}"
    key = (region, prefix, national[:depth], len(national))
    known = _verdicts.get(key, _SLOW)
    if known == "valid":
        return e164
    if known is None:
        return None
    if key in _verdicts:  # marked slow: phonenumbers did not read this shape as "+CC" + the digits
        return _phone_parse(value, region)
    verdict = _phone_parse(value, region)
    if len(_verdicts) >= _CACHE_LIMIT:
        _verdicts.clear()
    _verdicts[key] = None if verdict is None else "valid" if verdict == e164 else _SLOW
    return verdict
