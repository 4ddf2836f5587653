"""The import's shortcuts give exactly what the slow path gives: phones, emails, pinyin and the model's field checks.

Each shortcut is proved in its module's docstring; these tests throw many random values at both paths and
require the same outcome, the same normal form or the same error message naming the same field.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from guanxi.core.fieldchecks import FieldChecks
from guanxi.customers import emails, names, phones
from guanxi.customers.models import Account, Contact, Lead

MANY = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FULL_WIDTH = str.maketrans("0123456789+-() ", "０１２３４５６７８９＋－（）\u3000")


def outcome(call: Any, value: str) -> tuple[str, Any]:
    try:
        return "ok", call(value)
    except ValidationError as exc:
        return "error", exc.message_dict


# --- phones -----------------------------------------------------------------------------------


def slow_phone(value: str) -> tuple[str, Any]:
    """What phone_normalise gave before the shortcut: phonenumbers on every value."""
    value = value.strip()
    if not value:
        return "ok", ""
    e164 = phones._phone_parse(value, phones.default_region())
    if e164 is None:
        return "error", phones._invalid(value, "phone").message_dict
    return "ok", e164


digits = st.text(alphabet="0123456789", min_size=1, max_size=14)
prefixes = st.sampled_from(["", "+86", "+86 ", "+86-", "(+86) ", "(+86)", "+852 ", "+886", "+1 ", "+44", "+49 ", "+"])
separators = st.sampled_from(["", " ", "-"])


@st.composite
def phone_texts(draw: Any) -> str:
    """Numbers as people type them: CN mobiles and landlines, +852/+886/+1/+44 numbers, groups, full-width
    digits, extensions, junk."""
    kind = draw(st.integers(0, 5))
    if kind == 0:  # a CN mobile-like number: 1 + 10 digits, with a real-looking second digit most of the time
        body = "1" + draw(st.sampled_from("3456789012")) + draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
    elif kind == 1:  # landline-like: area code and number, sometimes with the trunk 0
        body = draw(st.sampled_from(["", "0"])) + draw(st.sampled_from(["10", "21", "755", "571", "20", "28"]))
        body += draw(st.text(alphabet="0123456789", min_size=6, max_size=9))
    else:
        body = draw(digits)
    cut = draw(st.lists(st.integers(1, max(1, len(body) - 1)), max_size=3, unique=True))
    sep = draw(separators)
    for at in sorted(cut, reverse=True):
        body = body[:at] + sep + body[at:]
    text = draw(prefixes) + body
    if draw(st.integers(0, 9)) == 0:
        text += draw(st.sampled_from([" ext. 12", " x3", "#5", "  ", " 转 8"]))
    if draw(st.integers(0, 9)) == 0:
        text = text.translate(FULL_WIDTH)
    return text


@MANY
@given(phone_texts())
@example("138 0013 8000")
@example("+86-138-0013-8000")
@example("(+86) 13800138000")
@example("+852 6123 4567")
@example("+886 912 345 678")
@example("+1 415 555 2671")
@example("+447970142608")
@example("11200001234")
@example("17951138001380")
@example("8613800138000")
@example("0013800138000")
@example("010 6552 9988")
@example("+0 13800138000")
def test_the_phone_shortcut_gives_what_phonenumbers_gives(text: str) -> None:
    """Any typed number: the shortcut's E.164 or error (message naming the field) equals phonenumbers' verdict,
    whether the shortcut's cache for that number's key was filled by this number or an earlier one."""
    from guanxi.customers.services import _nfkc

    value = _nfkc(text)
    assert outcome(phones.phone_normalise, value) == slow_phone(value)
    assert outcome(phones.phone_normalise, value) == slow_phone(value)  # now from the cache


@MANY
@given(st.sampled_from(["13", "15", "18", "17", "14", "16", "19", "10", "11", "12"]), st.integers(0, 10**9 - 1))
def test_numbers_sharing_a_cache_key_get_their_own_phonenumbers_verdict(head: str, tail: int) -> None:
    """Two numbers with the same leading digits and length, the second answered from the first's verdict:
    both equal phonenumbers'."""
    first = f"{head}{tail:09d}"
    second = f"{head}{tail:09d}"[:5] + f"{(tail * 7919) % 10**6:06d}"
    for number in (first, second, "+86 " + second, "(+86) " + first):
        assert outcome(phones.phone_normalise, number) == slow_phone(number)


def test_every_leading_block_of_cn_mobile_numbers_gets_phonenumbers_verdict() -> None:
    """Exhaustive over the first five digits of 11-digit numbers starting with 1 (where the proved depth lies):
    the lowest and highest number of each block, plain and with +86, answered partly from the cache, all equal
    phonenumbers' verdict. A shortcut keyed on fewer digits than needed (1740x vs 1741x) fails here."""
    phones._verdicts.clear()
    for block in range(10000, 20000):
        for number in (f"{block}000000", f"{block}999999", f"+86 {block}123456"):
            assert outcome(phones.phone_normalise, number) == slow_phone(number), number


@override_settings(DEFAULT_PHONE_REGION="HK")
@settings(max_examples=300, deadline=None)
@given(phone_texts())
def test_the_phone_shortcut_holds_for_another_home_region(text: str) -> None:
    """With Hong Kong as the home region, national numbers are read as Hong Kong's, shortcut or not."""
    from guanxi.customers.services import _nfkc

    value = _nfkc(text)
    assert outcome(phones.phone_normalise, value) == slow_phone(value)


def test_the_prover_sees_the_depth_of_a_pattern() -> None:
    """The depth is the last position a pattern constrains beyond "any digit", per leading digit."""
    assert phones.pattern_depth(r"1(?:3\d|4[57])\d{8}", "1") == 3
    assert phones.pattern_depth(r"1740[0-5]\d{6}|2\d{9}", "1") == 5
    assert phones.pattern_depth(r"1740[0-5]\d{6}|2\d{9}", "2") == 1
    assert phones.pattern_depth(r"\d{2,3}5\d{4}", "1") == 4  # the 5 can sit at position 2 or 3
    with pytest.raises(phones._Unsupported):
        phones.pattern_depth(r"1\d+", "1")


# --- emails -----------------------------------------------------------------------------------


def slow_email(value: str) -> tuple[str, Any]:
    value = value.strip()
    if not value:
        return "ok", ""
    try:
        return "ok", validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return "error", emails._invalid(value, "email").message_dict


atext = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
locals_ = st.one_of(
    st.text(alphabet=atext + ".", min_size=0, max_size=70),
    st.sampled_from(["postmaster", "Abuse", "wei.zhang", "a..b", ".a", "a.", '"quoted"', "张伟", "x" * 64, "y" * 65]),
)
domains = st.one_of(
    st.sampled_from(
        [
            "example.com",
            "Example.COM",
            "qq.com",
            "163.com",
            "xn--fiqs8s.cn",
            "中国.cn",
            "localhost",
            "a-.com",
            "-a.com",
            "a..com",
            "example.invalid",
            "test",
            "com",
            "x" * 63 + ".com",
            ("y" * 60 + ".") * 4 + "com",
        ]
    ),
    st.text(alphabet="abcxyz019-.", min_size=0, max_size=20),
)


@MANY
@given(locals_, domains, st.sampled_from(["@", "@", "@", "＠", "@@", " @ "]))
def test_the_email_shortcut_gives_what_email_validator_gives(local: str, domain: str, at: str) -> None:
    """Any address: the shortcut's normal form or error equals email-validator's, before and after its
    domain is known."""
    value = f"{local}{at}{domain}"
    assert outcome(emails.email_normalise, value) == slow_email(value)
    assert outcome(emails.email_normalise, value) == slow_email(value)
    assert outcome(emails.email_normalise, f"other.{local}{at}{domain}") == slow_email(f"other.{local}{at}{domain}")


# --- pinyin -----------------------------------------------------------------------------------

hans = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
given_chars = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英霞平刚桂兰玉红东秋月文章重庆长安中国人民银行单解仇区查朴乐覃"


@MANY
@given(
    st.one_of(
        st.text(alphabet=hans + given_chars, min_size=1, max_size=5),
        st.text(alphabet=hans + given_chars + "abc ·-1", min_size=0, max_size=8),
        st.text(min_size=0, max_size=6),
        st.sampled_from(
            ["张玉兰", "重庆", "长安", "中国人民银行", "单伟", "欧阳娜娜", "John Smith", "O'Brien", "李 Lee"]
        ),
    )
)
def test_pinyin_per_character_equals_pypinyin_on_the_whole_name(text: str) -> None:
    """The syllables read character by character (when pypinyin would too) equal pypinyin's reading of the
    whole text, phrases such as 重庆 and 长安 included."""
    assert names._syllables(text) == names._syllables_slow(text)


# --- the model's field checks -----------------------------------------------------------------

texts = st.one_of(st.just(""), st.text(max_size=3), st.text(min_size=40, max_size=260), st.sampled_from(["\x00", " "]))


def full_clean_errors(model: type, values: dict[str, Any], checked: tuple[str, ...], errors: dict) -> dict:
    obj = model(**values)
    found = {name: list(messages) for name, messages in errors.items()}
    try:
        obj.full_clean(exclude=[*found, *checked, "owner", "team", "import_batch"])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            found.setdefault(name, []).extend(messages)
    return found


@pytest.mark.django_db
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(
        [
            (
                Contact,
                ("phone", "email"),
                ["surname", "given_name", "full_name", "title", "city", "street", "lifecycle_stage"],
            ),
            (Account, ("registration_number",), ["name", "industry", "size", "website", "tier", "lifecycle_stage"]),
            (Lead, ("phone", "email"), ["surname", "company_name", "source", "status", "notes", "full_name"]),
        ]
    ),
    st.data(),
)
def test_field_checks_on_values_equal_full_clean_on_an_instance(case: Any, data: Any) -> None:
    """For random values (too long, empty where required, unknown choices, bad URLs), FieldChecks gives the same
    errors, field by field and message by message, as full_clean on an instance built from the same values."""
    model, checked, fields = case
    values: dict[str, Any] = {}
    for name in fields:
        if data.draw(st.booleans()):
            choices = [str(c) for c, _l in model._meta.get_field(name).flatchoices]
            values[name] = data.draw(st.one_of(texts, st.sampled_from(choices or ["x"]), st.just("example.com")))
    errors: dict[str, list[str]] = {}
    if data.draw(st.booleans()) and fields[0] not in values:
        errors[fields[0]] = ["already refused"]
    expected = full_clean_errors(model, values, checked, errors)
    FieldChecks(model, exclude=(*checked, "owner", "team", "import_batch")).check(values, errors)
    assert errors == expected
