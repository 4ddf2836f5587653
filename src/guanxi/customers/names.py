"""Person and company names: how they are displayed, and the pinyin kept for search."""

from __future__ import annotations

import functools
import re

from pypinyin import lazy_pinyin
from pypinyin.constants import RE_HANS as _HANS
from pypinyin.seg.mmseg import p_set as _PHRASE_PREFIXES

# Surnames whose reading differs from the character's everyday reading (单 is shàn as a surname, not dān).
SURNAME_READINGS = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "查": "zha",
    "朴": "piao",
    "盖": "ge",
    "乐": "yue",
    "覃": "qin",
    "缪": "miao",
    "尉迟": "yu chi",
    "万俟": "mo qi",
    "长孙": "zhang sun",
}

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text or ""))


def display_name(surname: str, given_name: str) -> str:
    """张 + 伟 → "张伟"; Smith + John → "John Smith"; either part alone is the name."""
    surname, given_name = (surname or "").strip(), (given_name or "").strip()
    if has_cjk(surname) or has_cjk(given_name):
        return f"{surname}{given_name}"
    return " ".join(part for part in (given_name, surname) if part)


def _syllables_slow(text: str) -> list[str]:
    words: list[str] = []
    for chunk in lazy_pinyin(text or ""):
        words.extend(w for w in (_NOT_ALNUM.sub(" ", chunk.lower())).split() if w)
    return words


@functools.lru_cache(maxsize=65536)
def _char_syllables(char: str) -> tuple[str, ...]:
    return tuple(_syllables_slow(char))


def _syllables(text: str) -> list[str]:
    """The pinyin syllables of `text`, lower-case: 张伟 → ["zhang", "wei"].

    Names are mostly new to the cache of `pinyin_keys`, but their characters repeat. pypinyin cuts a run
    of Chinese characters into the longest words of its phrase list (forward maximum matching) and reads
    each word on its own; when no two neighbouring characters begin a phrase, every word is one character,
    so the reading is that of each character alone, which is cached. Text without Chinese characters is
    kept by pypinyin as one chunk. Anything else is read whole.
    tests/customers/test_names.py checks this against the whole reading.
    """
    if text.isascii():  # no Chinese character: pypinyin keeps the text as it is, one chunk
        return _NOT_ALNUM.sub(" ", text.lower()).split()
    if (
        1 < len(text) <= 8
        and all(_HANS.match(c) for c in text)
        and not any(text[i : i + 2] in _PHRASE_PREFIXES for i in range(len(text) - 1))
    ):
        return [word for char in text for word in _char_syllables(char)]
    return _syllables_slow(text)


@functools.lru_cache(maxsize=65536)  # names repeat (张伟 …): an import of a million rows reads each once
def pinyin_keys(text: str, *, surname: str = "") -> tuple[str, str]:
    """Full pinyin and initials of a name, lower-case without spaces: 张伟 → ("zhangwei", "zw").

    `surname`, when the name starts with it, is read as a surname (单 → shan). Latin words are kept
    whole in the full key and give their first letter to the initials.
    """
    text = (text or "").strip()
    words: list[str] = []
    if surname and text.startswith(surname) and surname in SURNAME_READINGS:
        words = SURNAME_READINGS[surname].split()
        text = text[len(surname) :]
    words += _syllables(text)
    return "".join(words)[:200], "".join(w[0] for w in words)[:60]


def search_key(text: str) -> str:
    """A query as the pinyin keys are stored: lower-case letters and digits only."""
    return _NOT_ALNUM.sub("", (text or "").lower())


# Two-character surnames, so 欧阳娜娜 splits as 欧阳 + 娜娜 rather than 欧 + 阳娜娜.
COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "令狐",
        "万俟",
        "端木",
        "独孤",
        "南宫",
        "歐陽",
        "諸葛",
        "長孫",
    ]
)


def split_full_name(text: str) -> tuple[str, str]:
    """One "name" column as (surname, given name): 张伟 → (张, 伟); John Smith → (Smith, John); Smith, John too."""
    text = " ".join((text or "").split())
    if not text:
        return "", ""
    if has_cjk(text) and " " not in text:
        cut = 2 if text[:2] in COMPOUND_SURNAMES and len(text) > 2 else 1
        return text[:cut], text[cut:]
    if "," in text:
        surname, _comma, given = text.partition(",")
        return surname.strip(), given.strip()
    given, _space, surname = text.rpartition(" ")
    return (surname, given) if given else ("", surname)
