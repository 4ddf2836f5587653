"""Knowledge-base search for Chinese and English text alike.

Chinese is written without spaces, so words cannot be split on them: a run of Han characters is indexed
as its overlapping character bigrams (重置密码 → 重置 置密 密码), which finds any word of two characters
or more without a dictionary, the same idea as the trigram indexes of customer search but one character
shorter, because most Chinese words are two characters long. English is indexed by word, lower-cased,
with a plural "s" taken off. Traditional characters are folded to simplified ones first (密碼 = 密码).

The terms of every article sit in `KbTerm` (one row per article, term and title-or-body), so a search
is one indexed `term IN (…)` query grouped by article in any database; an article whose title holds a
term ranks above one that only mentions it in the text.
"""

from __future__ import annotations

import re

from guanxi.customers.comparators import simplified

TERM_MAX = 32  # KbTerm.term's length
QUERY_MAX_CHARS = 400  # a whole reply typed by an agent is a query too; its start says enough
QUERY_MAX_TERMS = 60
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[0-9a-z]+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# bigrams and words that appear in any question and say nothing about its subject
_STOP_WORDS = (
    "如何 怎么 怎样 什么 为什 么办 请问 一下 可以 我的 我们 你们 您的 您好 你好 这个 那个 的话 谢谢 是否 "
    "the and for you your our are was were how what why can does not with this that from have has "
    "to of in on is it an or be do if my me we at by as i a"
)
STOP = frozenset(_STOP_WORDS.split())


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def kb_terms(text: str) -> list[str]:
    """The search terms of a text, in order, repeats kept: Han bigrams (a lone Han character as itself)
    and English words of two letters or more (digits too), without the stop words."""
    terms: list[str] = []
    for match in _TOKEN.finditer(simplified(text)):
        token = match.group()
        if _HAN.match(token):
            grams = [token] if len(token) == 1 else [token[i : i + 2] for i in range(len(token) - 1)]
        else:
            grams = [_stem(token)[:TERM_MAX]] if len(token) >= 2 or token.isdigit() else []
        terms.extend(g for g in grams if g not in STOP)
    return terms


def kb_query_terms(q: str) -> tuple[list[str], str]:
    """(distinct terms of a query, a trailing English word still being typed — matched as a prefix, or "")."""
    q = (q or "")[:QUERY_MAX_CHARS]
    terms = list(dict.fromkeys(kb_terms(q)))[:QUERY_MAX_TERMS]
    prefix = ""
    tail = simplified(q)
    if tail and tail[-1].isascii() and tail[-1].isalnum():
        last = re.findall(r"[0-9a-z]+$", tail)
        if last and len(last[0]) >= 3:
            prefix = last[0]
    return terms, prefix


def is_lone_han(q: str) -> bool:
    """A one-character Chinese query (票): no bigram holds it alone, so it is matched as a substring."""
    text = simplified(q).strip()
    return len(text) == 1 and bool(_HAN.match(text))
