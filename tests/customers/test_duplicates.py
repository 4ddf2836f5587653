"""The real-time duplicate warning: likely matches of an unsaved record, with reasons, in and out of scope."""

import pytest

from guanxi.customers.duplicates import likely_duplicates

from . import factories

pytestmark = pytest.mark.django_db


def _found(matches):
    return {(m.type, m.pk): m for m in matches}


def test_a_phone_written_another_way_is_the_same_phone(make_user):
    sales = make_user("sales")
    zhang = factories.contact(owner=sales, surname="张", given_name="伟", phone="13800138000")
    matches = likely_duplicates(record_type="contact", values={"phone": "+86 138-0013-8000"}, user=sales)
    assert [(m.type, m.pk) for m in matches] == [("contact", zhang.pk)]
    assert matches[0].reasons == ["same phone"] and matches[0].strong
    assert matches[0].name == "张伟" and matches[0].url == zhang.get_absolute_url()


def test_an_email_in_other_case_is_the_same_email(make_user):
    sales = make_user("sales")
    zhang = factories.contact(owner=sales, surname="张", given_name="伟", email="Wei.Zhang@example.com")
    matches = likely_duplicates(record_type="contact", values={"email": "WEI.ZHANG@EXAMPLE.COM"}, user=sales)
    assert [(m.type, m.pk, m.codes) for m in matches] == [("contact", zhang.pk, ["same_email"])]


def test_a_similar_name_at_the_same_company_is_flagged_with_the_company(make_user):
    sales = make_user("sales")
    huawei = factories.account(owner=sales, name="华为")
    zhang = factories.contact(owner=sales, surname="张", given_name="伟", accounts=[(huawei, "")])
    factories.contact(owner=sales, surname="张", given_name="伟")  # same name, other company: not a match
    values = {"surname": "张", "given_name": "伟", "accounts": [huawei.pk]}
    matches = likely_duplicates(record_type="contact", values=values, user=sales)
    assert [(m.pk, m.reasons) for m in matches] == [(zhang.pk, ["same name at 华为"])]
    assert matches[0].strong
    similar = likely_duplicates(
        record_type="contact", values={"surname": "Zhang", "given_name": "Wei", "accounts": [huawei.pk]}, user=sales
    )
    assert [(m.pk, m.reasons, m.strong) for m in similar] == [(zhang.pk, ["similar name at 华为"], False)]


def test_a_new_lead_whose_phone_is_a_contacts_is_flagged(make_user):
    sales = make_user("sales")
    zhang = factories.contact(owner=sales, phone="13800138000")
    matches = likely_duplicates(record_type="lead", values={"phone": "138 0013 8000"}, user=sales)
    assert [(m.type, m.pk) for m in matches] == [("contact", zhang.pk)]


def test_an_account_with_the_same_registration_number_or_name_without_legal_form(make_user):
    sales = make_user("sales")
    xiaomi = factories.account(owner=sales, name="小米科技有限责任公司", registration_number="91110108551385082Q")
    by_number = likely_duplicates(
        record_type="account", values={"name": "MI", "registration_number": "9111 0108 5513 8508 2q"}, user=sales
    )
    assert [(m.pk, m.codes) for m in by_number] == [(xiaomi.pk, ["same_registration"])]
    by_name = likely_duplicates(record_type="account", values={"name": "小米科技"}, user=sales)
    assert [(m.pk, m.codes, m.strong) for m in by_name] == [(xiaomi.pk, ["same_company"], True)]


def test_a_match_out_of_scope_is_reported_with_its_owner_only(make_user):
    mine, theirs = make_user("sales"), make_user("sales", full_name="王经理")
    factories.contact(owner=theirs, surname="张", given_name="伟", phone="13800138000")
    (match,) = likely_duplicates(record_type="contact", values={"phone": "13800138000"}, user=mine)
    assert not match.visible and match.name == "" and match.url == ""
    assert match.owner == "王经理" and match.reasons == ["same phone"]


def test_nothing_alike_finds_nothing(make_user):
    sales = make_user("sales")
    factories.contact(owner=sales, surname="张", given_name="伟", phone="13800138000")
    values = {"surname": "李", "given_name": "娜", "phone": "13900139000", "email": "li@example.com"}
    assert likely_duplicates(record_type="contact", values=values, user=sales) == []
