"""The real-time duplicate warning: likely matches of an unsaved record, with reasons, in and out of scope."""

import json

import pytest
from django.urls import reverse
from django.utils import translation

from guanxi.customers.duplicates import likely_duplicates
from guanxi.customers.models import Account, Contact, Lead

from . import factories

pytestmark = pytest.mark.django_db


def _found(matches):
    return {(m.type, m.pk): m for m in matches}


def test_a_phone_written_another_way_is_the_same_phone(make_user):
    sales = make_user("sales")
    zhang = factories.contact(owner=sales, surname="张", given_name="伟", phone="13800138000")
    matches = likely_duplicates(record_type="contact", values={"phone": "+86 138-0013-8000"}, user=sales)
    assert [(m.type, m.pk) for m in matches] == [("contact", zhang.pk)]
    assert matches[0].codes == ["same_phone"] and matches[0].strong
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
    with translation.override("en"):  # the reason is written in the reader's language
        matches = likely_duplicates(record_type="contact", values=values, user=sales)
    assert [(m.pk, m.reasons) for m in matches] == [(zhang.pk, ["same name at 华为"])]
    assert matches[0].strong
    with translation.override("en"):
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
    assert match.owner == "王经理" and match.codes == ["same_phone"]


def test_nothing_alike_finds_nothing(make_user):
    sales = make_user("sales")
    factories.contact(owner=sales, surname="张", given_name="伟", phone="13800138000")
    values = {"surname": "李", "given_name": "娜", "phone": "13900139000", "email": "li@example.com"}
    assert likely_duplicates(record_type="contact", values=values, user=sales) == []


# --- the create pages -------------------------------------------------------------------------


def test_the_panel_lists_likely_matches_as_the_user_types(make_user, login):
    sales = make_user("sales", language="en")
    zhang = factories.contact(owner=sales, surname="张", given_name="伟", phone="13800138000")
    client = login(sales)
    form = client.get(reverse("contact-create")).content.decode()
    assert f'hx-post="{reverse("contact-duplicates")}"' in form and "keyup delay" in form
    panel = client.post(reverse("contact-duplicates"), {"phone": "138 0013 8000"}, HTTP_HX_REQUEST="true")
    html = panel.content.decode()
    assert "This may already exist" in html and zhang.get_absolute_url() in html and "same phone" in html
    quiet = client.post(reverse("contact-duplicates"), {"phone": "139 0013 9000"}, HTTP_HX_REQUEST="true")
    assert quiet.content.decode().strip() == ""


def test_saving_a_strong_duplicate_needs_create_anyway(make_user, login):
    sales = make_user("sales", language="en")
    factories.contact(owner=sales, surname="张", given_name="伟", phone="13800138000")
    client = login(sales)
    data = {"surname": "张", "given_name": "伟", "phone": "+86 138 0013 8000"}
    refused = client.post(reverse("contact-create"), data)
    assert refused.status_code == 200 and Contact.objects.count() == 1
    page = refused.content.decode()
    assert "This probably exists already" in page and "same phone" in page and "Create anyway" in page
    created = client.post(reverse("contact-create"), {**data, "create_anyway": "on"})
    assert created.status_code == 302 and Contact.objects.count() == 2


def test_a_weak_match_warns_but_does_not_stop_the_save(make_user, login):
    sales = make_user("sales", language="en")
    factories.account(owner=sales, name="腾讯科技 1")
    response = login(sales).post(reverse("account-create"), {"name": "腾讯科技 2"})
    assert response.status_code == 302 and Account.objects.count() == 2


def test_an_edit_page_warns_of_duplicates_but_never_of_the_record_itself(make_user, login):
    sales = make_user("sales", language="en")
    zhang = factories.contact(owner=sales, surname="张", given_name="伟", phone="13800138000")
    twin = factories.contact(owner=sales, surname="张", given_name="伟", phone="+86 138 0013 8000")
    client = login(sales)
    page = client.get(reverse("contact-edit", args=[twin.pk])).content.decode()
    assert "This may already exist" in page and zhang.get_absolute_url() in page
    assert f'name="editing" value="{twin.pk}"' in page
    assert f'href="{twin.get_absolute_url()}"' not in page  # not its own duplicate
    # the live panel, as the form sends it while the user types, excludes the record too
    panel = client.post(reverse("contact-duplicates"), {"phone": "13800138000", "editing": str(zhang.pk)})
    assert twin.get_absolute_url() in panel.content.decode() and zhang.get_absolute_url() not in panel.content.decode()
    # a warning, not a block: the edit saves
    saved = client.post(
        reverse("contact-edit", args=[twin.pk]),
        {"surname": "张", "given_name": "伟", "phone": "13800138000", "email": "w@example.com"},
    )
    assert saved.status_code == 302
    twin.refresh_from_db()
    assert twin.email == "w@example.com"


# --- the API ----------------------------------------------------------------------------------


def _post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def test_the_api_checks_and_refuses_a_duplicate_unless_forced(make_user, bearer):
    sales = make_user("sales")
    zhang = factories.contact(owner=sales, surname="张", given_name="伟", phone="13800138000")
    client = bearer(sales)
    check = _post(client, "/api/v1/leads/duplicates-check", {"phone": "138 0013 8000"}).json()
    assert [(m["type"], m["id"], m["codes"], m["strong"]) for m in check["matches"]] == [
        ("contact", zhang.pk, ["same_phone"], True)
    ]
    refused = _post(client, "/api/v1/leads", {"surname": "张", "given_name": "伟", "phone": "13800138000"})
    assert refused.status_code == 409 and not Lead.objects.exists()
    body = refused.json()
    assert body["error"]["code"] == "duplicate" and body["matches"][0]["id"] == zhang.pk
    forced = _post(
        client, "/api/v1/leads", {"surname": "张", "given_name": "伟", "phone": "13800138000", "force": True}
    )
    assert forced.status_code == 201 and Lead.objects.count() == 1


def test_the_api_hides_a_match_out_of_scope_but_still_reports_it(make_user, bearer):
    mine, theirs = make_user("sales"), make_user("sales", full_name="王经理")
    factories.contact(owner=theirs, surname="张", given_name="伟", phone="13800138000")
    (match,) = _post(bearer(mine), "/api/v1/contacts/duplicates-check", {"phone": "13800138000"}).json()["matches"]
    assert match == {
        "type": "contact",
        "id": None,
        "name": "",
        "url": "",
        "owner": "王经理",
        "visible": False,
        "strong": True,
        "score": 1.0,
        "reasons": ["same phone"],
        "codes": ["same_phone"],
    }
