"""Custom-field definitions and the cleaning of submitted values: every kind, every rule, errors naming the field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation

from guanxi.core import customfields, services
from guanxi.core.models import CustomField, Event, FieldRule, Tag

from ..factories import UserFactory

pytestmark = pytest.mark.django_db


def define(kind: str, key: str = "f", record_type: str = "contact", **options) -> CustomField:
    return services.custom_field_create(
        actor=None, record_type=record_type, key=key, label=options.pop("label", "字段"), kind=kind, **options
    )


def clean(values, record_type: str = "contact", **kwargs):
    return customfields.custom_values_clean(record_type=record_type, values=values, **kwargs)


def errors_of(exc_info) -> dict[str, list[str]]:
    return exc_info.value.message_dict


# --- definitions ------------------------------------------------------------------------------


def test_defining_a_field_records_an_event_and_normalises_the_choices():
    """Choices may be typed as "value | label" lines; they are stored as value/label pairs."""
    field = define("choice", key="level", choices="gold | 金卡\nsilver | 银卡\nbronze")
    assert field.choices == [
        {"value": "gold", "label": "金卡"},
        {"value": "silver", "label": "银卡"},
        {"value": "bronze", "label": "bronze"},
    ]
    assert Event.objects.for_object(field).filter(action="created").exists()


@pytest.mark.parametrize(
    ("options", "field_name"),
    [
        ({"key": "Bad Key"}, "key"),
        ({"key": "a__b"}, "key"),
        ({"key": "contains"}, "key"),  # would read as a lookup in custom__<key> filters
        ({"key": "ok", "label": "  "}, "label"),
        ({"key": "ok", "kind": "colour"}, "kind"),
        ({"key": "ok", "kind": "choice"}, "choices"),
        ({"key": "ok", "kind": "boolean", "unique": True}, "unique"),
        ({"key": "ok", "kind": "number", "rules": {"max_length": 3}}, "rules"),
        ({"key": "ok", "kind": "number", "rules": {"min": 10, "max": 1}}, "rules"),
        ({"key": "ok", "kind": "text", "rules": {"regex": "("}}, "rules"),
        ({"key": "ok", "kind": "date", "rules": {"min": "yesterday"}}, "rules"),
        ({"key": "ok", "record_type": "spaceship"}, "record_type"),
    ],
)
def test_a_bad_definition_is_refused_naming_what_is_wrong(options, field_name):
    options = {"kind": "text", "label": "字段", **options}
    with pytest.raises(ValidationError) as exc:
        services.custom_field_create(actor=None, record_type=options.pop("record_type", "contact"), **options)
    assert field_name in errors_of(exc)
    assert not CustomField.objects.exists()


def test_a_key_is_unique_per_record_type_only():
    """The same key may exist on contacts and accounts, but not twice on contacts."""
    define("text", key="region")
    define("text", key="region", record_type="account")
    with pytest.raises(ValidationError) as exc:
        define("text", key="region")
    assert "key" in errors_of(exc)


def test_key_record_type_and_kind_cannot_be_changed():
    field = define("text", key="code")
    with pytest.raises(ValidationError) as exc:
        services.custom_field_update(field=field, actor=None, key="other", kind="number")
    assert set(errors_of(exc)) == {"key", "kind"}


def test_updating_records_the_changed_attributes_and_deactivating_hides_the_field():
    field = define("text", key="code", label="编码")
    services.custom_field_update(field=field, actor=None, label="客户编码", label_en="Customer code")
    event = Event.objects.for_object(field).get(action="updated")
    assert event.changes["label"] == ["编码", "客户编码"]
    services.custom_field_deactivate(field=field, actor=None)
    assert Event.objects.for_object(field).filter(action="deactivated").exists()
    assert customfields.active_fields("contact") == []


def test_the_english_label_is_shown_to_english_readers():
    field = define("text", key="code", label="客户编码", label_en="Customer code")
    with translation.override("en"):
        assert field.display_label == "Customer code"
    with translation.override("zh-hans"):
        assert field.display_label == "客户编码"


# --- cleaning every kind ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "given", "stored"),
    [
        ("text", {}, "  华东   大区 ", "华东 大区"),
        ("number", {}, "1,200", 1200),
        ("number", {}, "2.5", 2.5),
        ("number", {}, Decimal("7"), 7),
        ("money", {}, "1234.5", "1234.50"),
        ("money", {}, 99, "99.00"),
        ("money", {}, "１２００", "1200.00"),  # full-width digits from a Chinese input method
        ("date", {}, "2026-03-01", "2026-03-01"),
        ("date", {}, date(2026, 3, 1), "2026-03-01"),
        ("choice", {"choices": ["gold | 金卡", "silver | 银卡"]}, "gold", "gold"),
        ("choice", {"choices": ["gold | 金卡", "silver | 银卡"]}, "银卡", "silver"),  # the label is understood
        ("multi_choice", {"choices": ["a", "b", "c"]}, "c, a，a", ["a", "c"]),
        ("multi_choice", {"choices": ["a", "b", "c"]}, ["b"], ["b"]),
        ("boolean", {}, "yes", True),
        ("boolean", {}, False, False),
        ("boolean", {}, "否", False),
        ("url", {}, "example.com/about", "https://example.com/about"),
        ("email", {}, " Wei.Zhang@Example.COM ", "Wei.Zhang@example.com"),
        ("phone", {}, "138 0013 8000", "+8613800138000"),
    ],
)
def test_each_kind_is_stored_in_its_normal_form(kind, options, given, stored):
    define(kind, key="f", **options)
    assert clean({"f": given}) == {"f": stored}


def test_a_user_value_is_stored_as_the_users_id():
    define("user", key="manager")
    colleague = UserFactory()
    assert clean({"manager": colleague}) == {"manager": colleague.pk}
    assert clean({"manager": str(colleague.pk)}) == {"manager": colleague.pk}


@pytest.mark.parametrize(
    ("kind", "options", "given", "words"),
    [
        ("text", {"rules": {"max_length": 3}}, "abcd", "3"),
        ("text", {"rules": {"regex": r"[A-Z]{2}\d{4}"}}, "ab1234", "format"),
        ("text", {}, {"a": 1}, "text"),
        ("number", {}, "many", "number"),
        ("number", {}, True, "number"),
        ("number", {"rules": {"min": 1, "max": 10}}, 0, "at least 1"),
        ("number", {"rules": {"min": 1, "max": 10}}, 11, "at most 10"),
        ("money", {}, "12.345", "two decimal places"),
        ("money", {}, "lots", "amount of money"),
        ("money", {"rules": {"min": "100"}}, "99.99", "at least 100.00"),
        ("date", {}, "31/02/2026", "date"),
        ("date", {"rules": {"min": "2026-01-01"}}, "2025-12-31", "at least 2026-01-01"),
        ("choice", {"choices": ["gold"]}, "platinum", "platinum"),
        ("multi_choice", {"choices": ["a"]}, ["a", "z"], "“z”"),
        ("boolean", {}, "maybe", "yes or no"),
        ("user", {}, 999999, "active user"),
        ("url", {}, "not a url", "web address"),
        ("email", {}, "wei@", "email"),
        ("phone", {}, "12", "phone"),
    ],
)
def test_a_bad_value_is_refused_under_custom_key_with_the_label_named(kind, options, given, words):
    define(kind, key="f", label="Level", **options)
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        clean({"f": given})
    [message] = errors_of(exc)["custom_f"]
    assert "Level" in message and words in message


def test_messages_are_translated_and_name_the_chinese_label():
    define("number", key="f", label="员工人数")
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        clean({"f": "很多"})
    assert "员工人数" in errors_of(exc)["custom_f"][0]


def test_an_inactive_users_id_is_refused():
    define("user", key="f")
    gone = UserFactory(is_active=False)
    with pytest.raises(ValidationError):
        clean({"f": gone.pk})


def test_every_bad_value_is_reported_at_once():
    define("number", key="a")
    define("date", key="b")
    with pytest.raises(ValidationError) as exc:
        clean({"a": "x", "b": "y", "nope": 1})
    assert set(errors_of(exc)) == {"custom_a", "custom_b", "custom_nope"}


# --- merging, required, deactivated, unique ---------------------------------------------------


def test_only_the_given_keys_change_and_an_empty_value_clears_one():
    define("text", key="a")
    define("text", key="b")
    assert clean({"a": "new", "b": ""}, current={"a": "old", "b": "gone"}) == {"a": "new"}
    assert clean({}, current={"a": "kept"}) == {"a": "kept"}


def test_a_required_field_must_have_a_value_unless_the_caller_says_not_to_enforce_it():
    define("text", key="level", label="等级", required=True)
    with pytest.raises(ValidationError) as exc:
        clean({})
    assert "等级" in errors_of(exc)["custom_level"][0]
    with pytest.raises(ValidationError):
        clean({"level": "  "}, current={"level": "gold"})
    assert clean({}, enforce_required=False) == {}


def test_values_for_a_deactivated_field_are_ignored_and_stored_ones_kept():
    field = define("text", key="old", required=True)
    services.custom_field_deactivate(field=field, actor=None)
    assert clean({"old": "ignored"}, current={"old": "kept"}) == {"old": "kept"}
    assert clean({}) == {}  # a deactivated required field no longer requires anything


def test_a_form_name_is_accepted_as_a_key():
    """Imports and forms speak `custom_<key>`; the engine takes either."""
    define("text", key="code")
    assert clean({"custom_code": "A1"}) == {"code": "A1"}


# --- required built-in fields ------------------------------------------------------------------


def test_field_rules_set_records_each_change_and_refuses_unknown_fields():
    assert services.field_rules_set(record_type="contact", required=["email"], actor=None) == ["email"]
    rule = FieldRule.objects.get(record_type="contact", field="email")
    assert Event.objects.for_object(rule).filter(action="created").exists()
    services.field_rules_set(record_type="contact", required=[], actor=None)
    assert customfields.required_builtin_fields("contact") == []
    assert Event.objects.for_object(rule).filter(action="updated").exists()
    with pytest.raises(ValidationError) as exc:
        services.field_rules_set(record_type="contact", required=["full_name", "owner"], actor=None)
    assert "required" in errors_of(exc)


# --- tags -------------------------------------------------------------------------------------


def test_tag_names_are_unique_whatever_their_case():
    services.tag_create(name="VIP", actor=None)
    with pytest.raises(ValidationError) as exc:
        services.tag_create(name=" vip ", actor=None)
    assert "name" in errors_of(exc)


def test_resolving_tags_reuses_existing_ones_and_creates_the_rest():
    vip = services.tag_create(name="VIP", actor=None, colour="red")
    with transaction.atomic():
        tags = services.tags_resolve(names="vip, 华东，重点客户、华东", actor=None)
    assert [t.name for t in tags] == ["VIP", "华东", "重点客户"]
    assert vip in tags and Tag.objects.count() == 3


def test_a_tag_name_with_a_comma_or_too_long_is_refused_under_tags():
    with transaction.atomic(), pytest.raises(ValidationError) as exc:
        services.tags_resolve(names=["x" * 51], actor=None)
    assert "tags" in errors_of(exc)


def test_renaming_and_deleting_a_tag_record_events():
    tag = services.tag_create(name="老客户", actor=None)
    services.tag_update(tag=tag, actor=None, name="老客户 Loyal", colour="green")
    assert Event.objects.for_object(tag).get(action="updated").changes["name"] == ["老客户", "老客户 Loyal"]
    pk = tag.pk
    services.tag_delete(tag=tag, actor=None)
    assert not Tag.objects.filter(pk=pk).exists()
    assert Event.objects.filter(object_id=pk, action="deleted").exists()
