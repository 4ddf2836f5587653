"""How two customer records are compared: the keys they are blocked on and how alike their names are.

Small and free of queries, so the batch dedupe engine can use the same comparators as the
real-time duplicate warning (`duplicates.py`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, DamerauLevenshtein, Hamming, JaroWinkler, Levenshtein

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
    # the batch engine's name comparator: same characters once simplified, or same pinyin with one side in
    # Latin letters in either order (張偉 = 张伟 = Wei Zhang), is the same name
    if name_level(name_features(a), name_features(b)) in (0, 1):
        return SAME
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


# --- Field comparators with discrete levels (the batch dedupe engine, `guanxi.dedupe.matching`) -------------
#
# Each `*_features` function turns a raw value into what its comparator reads (computed once per record),
# and each `*_level` function compares two such features and returns a level: 0 is the strongest agreement,
# higher numbers weaker, MISSING when either side has nothing to compare (it then counts neither for nor
# against, as in Splink). The level names are in `LEVELS`. The engine estimates how much each level says.

MISSING = -1

LEVELS: dict[str, tuple[str, ...]] = {
    "name": ("exact", "same_sound", "close", "similar", "different"),
    "phone": ("exact", "one_digit", "different"),
    "email": ("exact", "close", "different"),
    "company": ("exact", "close", "different"),
    "registration": ("exact", "different"),
    "address": ("exact", "close", "same_city", "different"),
    "exact": ("exact", "different"),
    "identifier": ("exact", "one_edit", "two_edits", "different"),
    "date": ("exact", "one_edit", "same_year", "different"),
    "text": ("exact", "close", "similar", "different"),
}

# mistyped domains seen in CRM data, and the ones that are one mailbox under two names
EMAIL_DOMAIN_FIXES = {
    "gmial.com": "gmail.com",
    "gmai.com": "gmail.com",
    "gamil.com": "gmail.com",
    "gmail.co": "gmail.com",
    "gmail.con": "gmail.com",
    "googlemail.com": "gmail.com",
    "hotmial.com": "hotmail.com",
    "hotmal.com": "hotmail.com",
    "hotmail.con": "hotmail.com",
    "outlok.com": "outlook.com",
    "outlook.con": "outlook.com",
    "yahoo.con": "yahoo.com",
    "yaho.com": "yahoo.com",
    "qq.con": "qq.com",
    "qq.cm": "qq.com",
    "q.com": "qq.com",
    "163.con": "163.com",
    "163.cm": "163.com",
    "126.con": "126.com",
    "foxmail.con": "foxmail.com",
    "sina.con": "sina.com",
    "sina.cn.com": "sina.cn",
}
_DOTLESS_LOCAL = frozenset({"gmail.com"})  # Gmail ignores dots in the local part
_SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=262144)
def simplified(text: str) -> str:
    """Text in simplified characters, NFKC, lower-case, single spaces: 張偉 → 张伟; "ＷＥＩ  Zhang" → "wei zhang"."""
    text = unicodedata.normalize("NFKC", text or "").strip().lower()
    if not text.isascii():
        text = _t2s().convert(text)
    return _SPACES.sub(" ", text)


@functools.lru_cache(maxsize=1)
def _t2s() -> Any:
    # opencc-python-reimplemented: pure Python, ships its dictionaries, needs no native library
    import opencc

    return opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=262144)
def name_features(name: str) -> tuple[str, str, str, str]:
    """(simplified text, pinyin key in order, pinyin key with words sorted, initials) — "" when no name.

    张伟, 張偉, "Zhang Wei" and "Wei Zhang" share the sorted key "weizhang"; the first three also the key
    "zhangwei". A Latin name is split into words as written, a Chinese one into syllables.
    """
    text = simplified(name)
    if not text:
        return ("", "", "", "")
    words = _pinyin_words(text)
    if not words:
        return (text, "", "", "")
    return (text, "".join(words), "".join(sorted(words)), "".join(w[0] for w in words))


def _similar(a: str, b: str) -> float:
    return float(JaroWinkler.similarity(a, b))


def name_level(a: tuple[str, str, str, str], b: tuple[str, str, str, str]) -> int:
    """exact (same characters once simplified: 張偉 = 张伟) · same_sound (same pinyin in any order, one side
    in Latin letters: 张伟 = Zhang Wei = Wei Zhang) · close (Jaro-Winkler ≥ 0.92 on the pinyin — a typo — or
    two different characters of the same sound, 张伟 / 章伟) · similar (≥ 0.8) · different."""
    if not a[0] or not b[0]:
        return MISSING
    if a[0] == b[0]:
        return 0
    if a[1] and (a[1] == b[1] or a[2] == b[2]):
        # 张伟 / 章伟 (both in characters, same sound) are often two people: only "close"
        return 2 if not a[0].isascii() and not b[0].isascii() else 1
    if not a[1] or not b[1]:
        return 4
    best = max(_similar(a[1], b[1]), _similar(a[2], b[2]))
    if best >= 0.92:
        return 2
    return 3 if best >= 0.8 else 4


def phone_features(value: str) -> str:
    """E.164 of a number however it was written ("" when it is no valid number; a stored one is kept)."""
    value = (value or "").strip()
    if value.startswith("+") and value[1:].isdigit():
        return value
    return phone_key(value)


def digits_near(a: str, b: str) -> bool:
    """The same length and one digit different, or two neighbouring digits swapped."""
    if len(a) != len(b) or a == b:
        return False
    differ = Hamming.distance(a, b, score_cutoff=2)
    if differ == 1:
        return True
    if differ != 2:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def phone_level(a: str, b: str) -> int:
    """exact (same E.164) · one_digit (one digit off, or two neighbours swapped) · different."""
    if not a or not b:
        return MISSING
    if a == b:
        return 0
    return 1 if digits_near(a, b) else 2


@functools.lru_cache(maxsize=262144)
def email_canonical(value: str) -> str:
    """The mailbox an address reaches: lower-case, "+tag" dropped, Gmail's dots dropped, common domain typos
    fixed: Wei.Zhang+crm@GMIAL.com → weizhang@gmail.com. "" when there is no @ with text on both sides."""
    value = unicodedata.normalize("NFKC", value or "").strip().lower()
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain:
        return ""
    domain = EMAIL_DOMAIN_FIXES.get(domain, domain)
    local = local.split("+", 1)[0]
    if domain in _DOTLESS_LOCAL:
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else ""


def email_level(a: str, b: str) -> int:
    """exact (same canonical mailbox) · close (same local part at another domain, or a typo in the local
    part at the same domain) · different."""
    if not a or not b:
        return MISSING
    if a == b:
        return 0
    local_a, _at, domain_a = a.partition("@")
    local_b, _at, domain_b = b.partition("@")
    if local_a == local_b and len(local_a) >= 4:
        return 1
    if domain_a == domain_b and Levenshtein.distance(local_a, local_b, score_cutoff=1) <= 1:
        return 1
    return 2


@functools.lru_cache(maxsize=262144)
def company_features(name: str) -> str:
    """The company's key: legal forms removed (repeatedly: "Huawei Technologies Co., Ltd." → huaweitechnologies;
    華為技術有限公司 → huaweijishu), simplified, in pinyin."""
    text = simplified(name)
    while True:
        stripped = LEGAL_FORMS.sub("", text).strip(" ,.()（）")
        if stripped == text or not stripped:
            break
        text = stripped
    return name_key(text)


def company_level(a: str, b: str) -> int:
    """exact (same name without its legal form) · close (Jaro-Winkler ≥ 0.9) · different."""
    if not a or not b:
        return MISSING
    if a == b:
        return 0
    return 1 if _similar(a, b) >= 0.9 else 2


def exact_level(a: str, b: str) -> int:
    """exact · different (registration numbers, postcodes …)."""
    if not a or not b:
        return MISSING
    return 0 if a == b else 1


def identifier_level(a: str, b: str) -> int:
    """exact · one_edit · two_edits (Damerau-Levenshtein: a typo or a swap of neighbours) · different."""
    if not a or not b:
        return MISSING
    if a == b:
        return 0
    distance = DamerauLevenshtein.distance(a, b, score_cutoff=2)
    return 1 if distance == 1 else 2 if distance == 2 else 3


def date_level(a: str, b: str) -> int:
    """exact · one_edit (a mistyped or swapped digit) · same_year · different, on dates written YYYYMMDD or
    YYYY-MM-DD."""
    if not a or not b:
        return MISSING
    if a == b:
        return 0
    if DamerauLevenshtein.distance(a, b, score_cutoff=1) <= 1:
        return 1
    return 2 if a[:4] == b[:4] else 3


def text_level(a: str, b: str) -> int:
    """exact · close (Jaro-Winkler ≥ 0.92) · similar (≥ 0.8) · different."""
    if not a or not b:
        return MISSING
    if a == b:
        return 0
    similarity = _similar(a, b)
    return 1 if similarity >= 0.92 else 2 if similarity >= 0.8 else 3


@functools.lru_cache(maxsize=262144)
def address_features(city: str, street: str) -> tuple[str, str]:
    """(city, street) simplified, the street's punctuation and spaces removed: 北京市 → 北京."""
    city = simplified(city).removesuffix("市")
    street = _NOT_WORD.sub("", simplified(street))
    return (city, street)


_NOT_WORD = re.compile(r"[\W_]+")


def address_level(a: tuple[str, str], b: tuple[str, str]) -> int:
    """exact (same street, cities not different) · close (street similarity ≥ 0.85) · same_city · different."""
    if not (a[0] or a[1]) or not (b[0] or b[1]):
        return MISSING
    cities_differ = bool(a[0] and b[0] and a[0] != b[0])
    if a[1] and b[1] and not cities_differ:
        if a[1] == b[1]:
            return 0
        if fuzz.ratio(a[1], b[1]) >= 85:
            return 1
    if a[0] and a[0] == b[0]:
        return 2
    if not a[0] or not b[0]:
        return MISSING if not (a[1] and b[1]) else 3
    return 3


# --- The same levels for many pairs at once (the batch engine's `Comparison.vector`) ----------------------
#
# Each `*_levels(values, a, b)` gives the level of `*_level(values[a[k]], values[b[k]])` for every k, the
# string distances computed by rapidfuzz's `cpdist` over all pairs in one call. The engine asks only pairs
# of two different values. tests/dedupe/test_engine.py checks them against the one-pair functions.


def _strings(values: np.ndarray, part: int | None = None) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = [v if part is None else v[part] for v in values.tolist()]
    return out


def _present(strings: np.ndarray) -> np.ndarray:
    return np.fromiter((bool(s) for s in strings.tolist()), dtype=bool, count=len(strings))


def _lengths(strings: np.ndarray) -> np.ndarray:
    return np.fromiter((len(s) for s in strings.tolist()), dtype=np.int64, count=len(strings))


def _pairwise(scorer: Any, a: np.ndarray, b: np.ndarray, **kwargs: Any) -> np.ndarray:
    if not len(a):
        return np.zeros(0, dtype=kwargs.get("dtype", np.float64))
    return np.asarray(process.cpdist(a.tolist(), b.tolist(), scorer=scorer, **kwargs))


def _codes_of(strings: np.ndarray) -> np.ndarray:
    codes: dict[str, int] = {}
    return np.fromiter((codes.setdefault(s, len(codes)) for s in strings.tolist()), np.int64, len(strings))


def name_levels(values: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`name_level` of many pairs of different names."""
    text, ordered, by_sort = _strings(values, 0), _strings(values, 1), _strings(values, 2)
    has_text, has_key = _present(text), _present(ordered)
    latin = np.fromiter((t.isascii() for t in text.tolist()), dtype=bool, count=len(text))
    key_code, sorted_code = _codes_of(ordered), _codes_of(by_sort)
    out = np.full(len(a), 4, dtype=np.int8)
    both_keys = has_key[a] & has_key[b]
    same_sound = has_key[a] & ((key_code[a] == key_code[b]) | (sorted_code[a] == sorted_code[b]))
    similar = both_keys & ~same_sound
    rows = np.flatnonzero(similar)
    best = np.maximum(
        _pairwise(JaroWinkler.similarity, ordered[a[rows]], ordered[b[rows]], dtype=np.float64),
        _pairwise(JaroWinkler.similarity, by_sort[a[rows]], by_sort[b[rows]], dtype=np.float64),
    )
    out[rows] = np.where(best >= 0.92, 2, np.where(best >= 0.8, 3, 4))
    out[same_sound] = np.where(~latin[a[same_sound]] & ~latin[b[same_sound]], 2, 1)
    out[~(has_text[a] & has_text[b])] = MISSING
    return out


def phone_levels(values: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`phone_level` of many pairs of different numbers: with equal lengths, an optimal string alignment
    distance of 1 is one digit changed or two neighbours swapped."""
    phones = _strings(values)
    present, length = _present(phones), _lengths(phones)
    out = np.full(len(a), 2, dtype=np.int8)
    rows = np.flatnonzero(present[a] & present[b] & (length[a] == length[b]))
    near = _pairwise(OSA.distance, phones[a[rows]], phones[b[rows]], score_cutoff=2, dtype=np.int32) == 1
    out[rows[near]] = 1
    out[~(present[a] & present[b])] = MISSING
    return out


def email_levels(values: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`email_level` of many pairs of different mailboxes."""
    emails = _strings(values)
    present = _present(emails)
    split = [e.partition("@") for e in emails.tolist()]
    local = np.empty(len(split), dtype=object)
    local[:] = [parts[0] for parts in split]
    local_code = _codes_of(local)
    domain = np.empty(len(split), dtype=object)
    domain[:] = [parts[2] for parts in split]
    domain_code = _codes_of(domain)
    long_local = _lengths(local) >= 4
    out = np.full(len(a), 2, dtype=np.int8)
    out[(local_code[a] == local_code[b]) & long_local[a]] = 1
    rows = np.flatnonzero((out == 2) & (domain_code[a] == domain_code[b]))
    close = _pairwise(Levenshtein.distance, local[a[rows]], local[b[rows]], score_cutoff=1, dtype=np.int32) <= 1
    out[rows[close]] = 1
    out[~(present[a] & present[b])] = MISSING
    return out


def company_levels(values: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`company_level` of many pairs of different company keys."""
    keys = _strings(values)
    present = _present(keys)
    both = np.flatnonzero(present[a] & present[b])
    out = np.full(len(a), MISSING, dtype=np.int8)
    similarity = _pairwise(JaroWinkler.similarity, keys[a[both]], keys[b[both]], dtype=np.float64)
    out[both] = np.where(similarity >= 0.9, 1, 2)
    return out


def exact_levels(values: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`exact_level` of many pairs of different values."""
    present = _present(_strings(values))
    return np.where(present[a] & present[b], 1, MISSING).astype(np.int8)


def address_levels(values: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`address_level` of many pairs of different (city, street)."""
    city, street = _strings(values, 0), _strings(values, 1)
    has_city, has_street = _present(city), _present(street)
    city_code = _codes_of(city)
    out = np.full(len(a), 3, dtype=np.int8)
    both_streets = has_street[a] & has_street[b]
    cities_differ = has_city[a] & has_city[b] & (city_code[a] != city_code[b])
    same_city = has_city[a] & (city_code[a] == city_code[b])
    street_code = _codes_of(street)
    by_street = np.zeros(len(a), dtype=np.int8) - 1  # 0 same street, 1 close, -1 neither
    rows = np.flatnonzero(both_streets & ~cities_differ)
    equal = street_code[a[rows]] == street_code[b[rows]]
    by_street[rows[equal]] = 0
    rest = rows[~equal]
    ratio = _pairwise(fuzz.ratio, street[a[rest]], street[b[rest]], dtype=np.float64)
    by_street[rest[ratio >= 85]] = 1
    one_city_missing = ~(has_city[a] & has_city[b])
    out[one_city_missing & ~both_streets] = MISSING
    out[same_city] = 2
    out[by_street >= 0] = by_street[by_street >= 0]
    out[~(has_city[a] | has_street[a]) | ~(has_city[b] | has_street[b])] = MISSING
    return out
