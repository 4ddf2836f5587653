"""How two customer records are compared: the keys they are blocked on and how alike their names are.

Small and free of queries, so the batch dedupe engine can use the same comparators as the
real-time duplicate warning (`duplicates.py`).
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz

from .emails import email_normalise
from .names import display_name
from .phones import phone_normalise

# Legal forms that say nothing about which company it is: 华为技术有限公司 and 华为技术 are the same firm.
LEGAL_FORMS = re.compile(
    r"(股份有限公司|有限责任公司|有限公司|集团公司|集团|公司"
    r"|\b(co\.?,?\s*ltd\.?|company|limited|ltd\.?|inc\.?|llc|gmbh|corp\.?|corporation|plc|group)\s*)$",
    re.IGNORECASE,
)
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")

SAME = 1.0  # the same phone, email, registration number or name key
SIMILAR_NAME = 0.85  # the least name similarity worth a warning


def phone_key(value: str) -> str:
    """The number in E.164, or "" when it is not a valid number."""
    try:
        return phone_normalise(unicodedata.normalize("NFKC", value or ""))
    except ValidationError:
        return ""


def email_key(value: str) -> str:
    """The address lower-cased whole, or "" when it is not valid: Wei.Zhang@Example.com = wei.zhang@example.com."""
    try:
        return email_normalise(unicodedata.normalize("NFKC", value or "")).lower()
    except ValidationError:
        return ""


def _pinyin_words(text: str) -> list[str]:
    words: list[str] = []
    for chunk in lazy_pinyin(unicodedata.normalize("NFKC", text or "")):
        words.extend(w for w in _NOT_ALNUM.sub(" ", chunk.lower()).split() if w)
    return words


def person_name(surname: str, given_name: str) -> str:
    return display_name(surname, given_name)


def name_key(name: str) -> str:
    """Letters and digits of the name's pinyin, words in order: 张伟 → zhangwei; "Wei Zhang" → weizhang."""
    return "".join(_pinyin_words(name))


def company_key(name: str) -> str:
    """A company name's key without its legal form: 华为技术有限公司 → huaweijishu."""
    name = unicodedata.normalize("NFKC", name or "").strip()
    stripped = LEGAL_FORMS.sub("", name).strip(" ,.") or name
    return name_key(stripped)


def name_similarity(a: str, b: str) -> float:
    """0–1: how alike two names are, by their pinyin words in any order (Zhang Wei ~ 张伟) or their characters."""
    if not a or not b:
        return 0.0
    words_a, words_b = " ".join(_pinyin_words(a)), " ".join(_pinyin_words(b))
    by_sound = fuzz.token_sort_ratio(words_a, words_b) if words_a and words_b else 0.0
    by_text = fuzz.ratio(unicodedata.normalize("NFKC", a).lower(), unicodedata.normalize("NFKC", b).lower())
    return max(by_sound, by_text) / 100


def company_similarity(a: str, b: str) -> float:
    """0–1: how alike two company names are once their legal forms are set aside."""
    key_a, key_b = company_key(a), company_key(b)
    if not key_a or not key_b:
        return 0.0
    if key_a == key_b:
        return SAME
    return fuzz.ratio(key_a, key_b) / 100
