"""Generated CRM people with known duplicates, in Chinese and English, for the benchmark and the tests.

Each person is written once; some are written again, one to three times, the way duplicates arise in a
CRM: a typo in the name, the name in pinyin instead of characters, traditional characters for simplified,
given name and surname swapped, the phone written another way or mistyped by a digit, the email in
capitals, with a +tag, Gmail dots or a mistyped domain, the company with another legal form, a field left
out. Many different people share common names (张伟, 王芳 …), as in real data.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力梅琳鹏飞宇浩然子轩思雨欣怡佳琪晨阳博雅婷"
ENGLISH_GIVEN = [
    "James", "Mary", "John", "Linda", "Michael", "Sarah", "David", "Emma", "Daniel", "Olivia", "Peter", "Grace",
    "Thomas", "Lucy", "Andrew", "Helen", "Mark", "Anna", "Paul", "Kate",
]  # fmt: skip
ENGLISH_SURNAMES = [
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "Roberts", "Walker",
    "Wright", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris", "Clarke",
]  # fmt: skip
FIRMS = [
    "华为",
    "腾讯",
    "阿里",
    "百度",
    "京东",
    "美团",
    "小米",
    "联想",
    "海尔",
    "格力",
    "比亚迪",
    "中兴",
    "网易",
    "新浪",
    "搜狐",
    "携程",
    "顺丰",
    "万科",
    "招商",
    "平安",
]
FIRM_WORDS = ["科技", "贸易", "实业", "信息", "电子", "物流", "文化", "医疗", "食品", "建设"]
CN_FORMS = ["有限公司", "股份有限公司", "有限责任公司", "集团", ""]
EN_FIRMS = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Wonka", "Cyberdyne"]
EN_WORDS = ["Trading", "Technologies", "Logistics", "Foods", "Consulting", "Systems"]
EN_FORMS = ["Co., Ltd.", "Limited", "Ltd", "Inc.", "Company Limited", ""]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "西安", "苏州", "天津", "重庆"]
STREETS = ["人民路", "解放路", "中山路", "建设路", "和平路", "长江路", "学院路", "南京路", "朝阳路", "新华路"]
DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "sina.com", "example.com.cn"]
DOMAIN_TYPOS = {"qq.com": "qq.con", "163.com": "163.con", "gmail.com": "gmial.com", "outlook.com": "outlok.com"}


@dataclass
class Person:
    key: str
    entity: int
    name: str
    phone: str
    email: str
    company: str
    city: str
    street: str


def _pinyin_name(surname: str, given: str, rng: random.Random) -> str:
    from pypinyin import lazy_pinyin

    sur = "".join(lazy_pinyin(surname)).capitalize()
    giv = "".join(lazy_pinyin(given)).capitalize()
    return f"{sur} {giv}" if rng.random() < 0.5 else f"{giv} {sur}"


def _traditional(text: str) -> str:
    return str(_s2t().convert(text))


@functools.lru_cache(maxsize=1)
def _s2t() -> Any:
    # loading the dictionaries takes a quarter of a second: once per process, not once per name
    import opencc

    return opencc.OpenCC("s2t")


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    if text.isascii():
        if rng.random() < 0.5:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        return text[:i] + rng.choice("aeiourstn") + text[i + 1 :]
    return text[:i] + rng.choice(GIVEN) + text[i + 1 :]


def _phone_variant(phone: str, rng: random.Random) -> str:
    digits = "".join(c for c in phone if c.isdigit())[-11:]  # the mobile number without +86
    choice = rng.random()
    if choice < 0.3:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if choice < 0.55:
        return f"+86-{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if choice < 0.75:
        return digits
    i = rng.randrange(3, len(digits) - 1)
    if rng.random() < 0.5:
        digits = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
    else:
        digits = digits[:i] + str((int(digits[i]) + 1) % 10) + digits[i + 1 :]
    return digits


def _email_variant(email: str, rng: random.Random) -> str:
    local, _at, domain = email.partition("@")
    choice = rng.random()
    if choice < 0.3:
        return email.upper()
    if choice < 0.55:
        return f"{local}+crm@{domain}"
    if choice < 0.8 and domain in DOMAIN_TYPOS:
        return f"{local}@{DOMAIN_TYPOS[domain]}"
    if domain == "gmail.com" and len(local) > 3:
        return f"{local[:2]}.{local[2:]}@{domain}"
    return email.capitalize()


def _company_variant(company: str, rng: random.Random) -> str:
    for form in sorted([f for f in CN_FORMS + EN_FORMS if f], key=len, reverse=True):
        if company.endswith(form):
            base = company[: -len(form)].rstrip(" ,")
            forms = CN_FORMS if not base.isascii() else EN_FORMS
            other = rng.choice([f for f in forms if f != form])
            return f"{base} {other}".strip() if base.isascii() else f"{base}{other}"
    forms = CN_FORMS if not company.isascii() else EN_FORMS
    return f"{company} {rng.choice(forms)}".strip() if company.isascii() else company + rng.choice(forms)


def people(count: int, *, seed: int = 1, duplicate_share: float = 0.2) -> Iterator[Person]:
    """`count` records: originals, and for `duplicate_share` of them one to three altered copies."""
    rng = random.Random(seed)
    made = 0
    entity = 0
    while made < count:
        entity += 1
        chinese = rng.random() < 0.75
        if chinese:
            surname = rng.choice(SURNAMES)
            given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
            name = surname + given
            company = rng.choice(FIRMS) + rng.choice(FIRM_WORDS) + rng.choice(CN_FORMS)
        else:
            surname, given = rng.choice(ENGLISH_SURNAMES), rng.choice(ENGLISH_GIVEN)
            name = f"{given} {surname}"
            company = f"{rng.choice(EN_FIRMS)} {rng.choice(EN_WORDS)} {rng.choice(EN_FORMS)}".strip()
        phone = f"+861{rng.choice('3578')}{rng.randrange(10**9):09d}"
        local = f"{''.join(c for c in name.lower() if c.isascii() and c.isalpha())[:8] or 'user'}{rng.randrange(10**4)}"
        if chinese:
            from pypinyin import lazy_pinyin

            local = f"{''.join(lazy_pinyin(name))}{rng.randrange(10**4)}"
        email = f"{local}@{rng.choice(DOMAINS)}" if rng.random() < 0.8 else ""
        city = rng.choice(CITIES)
        street = f"{rng.choice(STREETS)}{rng.randrange(1, 999)}号" if rng.random() < 0.6 else ""
        original = Person(f"p{made}", entity, name, phone if rng.random() < 0.9 else "", email, company, city, street)
        yield original
        made += 1
        if rng.random() >= duplicate_share:
            continue
        for _copy in range(rng.choice((1, 1, 1, 2, 3))):
            if made >= count:
                return
            copy = Person(f"p{made}", entity, name, phone, email, company, city, street)
            for _change in range(rng.randint(1, 3)):
                change = rng.random()
                if change < 0.15:
                    copy.name = _typo(copy.name, rng)
                elif change < 0.3 and chinese and copy.name == name:
                    copy.name = _pinyin_name(surname, given, rng)
                elif change < 0.42 and chinese and copy.name == name:
                    copy.name = _traditional(copy.name)
                elif change < 0.52 and not chinese:
                    copy.name = f"{surname} {given}"
                elif change < 0.67 and copy.phone:
                    copy.phone = _phone_variant(copy.phone, rng)
                elif change < 0.8 and copy.email:
                    copy.email = _email_variant(copy.email, rng)
                elif change < 0.9:
                    copy.company = _company_variant(copy.company, rng)
                elif change < 0.95:
                    copy.email = ""
                else:
                    copy.street = ""
            yield copy
            made += 1
