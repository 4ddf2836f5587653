"""The customer API: clean data at the door, one error shape naming the field, scope, PII masking, conversion."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.core.models import Event
from guanxi.customers.models import Contact, Lead

from . import factories

pytestmark = pytest.mark.django_db


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


def test_creating_a_contact_normalises_its_phone_and_email(make_user, bearer):
    manager = make_user("manager")
    response = post(
        bearer(manager),
        "/api/v1/contacts",
        {"surname": "张", "given_name": "伟", "phone": "138 0013 8000", "email": "ZW@Example.COM"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["full_name"] == "张伟" and body["name_pinyin"] == "zhangwei"
    assert body["phone"] == "+8613800138000" and body["phone_national"] == "138 0013 8000"
    assert body["email"] == "ZW@example.com"
    assert Event.objects.filter(object_id=body["id"], action="created").exists()


def test_a_bad_phone_is_a_422_naming_the_field_and_nothing_is_written(make_user, bearer):
    response = post(bearer(make_user("sales")), "/api/v1/contacts", {"surname": "张", "phone": "12345"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error" and list(error["fields"]) == ["phone"]
    assert not Contact.objects.exists()


def test_an_empty_account_name_is_refused_naming_the_field(make_user, bearer):
    user = make_user("sales", language="zh-hans")
    response = post(bearer(user), "/api/v1/accounts", {"name": ""})
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["name"]


def test_phone_and_email_are_masked_without_view_pii_and_views_are_logged_with_it(make_user, bearer):
    sales, manager = make_user("sales"), make_user("manager")
    contact = factories.contact(owner=sales, surname="张", given_name="伟", phone="13800138000", email="zw@example.com")
    masked = bearer(sales).get(f"/api/v1/contacts/{contact.pk}").json()
    assert masked["phone"] == "861****8000" and masked["email"] == "z***@example.com"
    assert not Event.objects.filter(action="pii_viewed").exists()
    contact.team = manager.teams.first()
    manager.__dict__.pop("scope_team_ids", None)
    whole = bearer(make_user("administrator")).get(f"/api/v1/contacts/{contact.pk}").json()
    assert whole["phone"] == "+8613800138000" and whole["email"] == "zw@example.com"
    assert Event.objects.filter(action="pii_viewed", object_id=contact.pk, data__channel="api").count() == 1


def test_lists_are_paged_scoped_and_searchable(make_user, bearer):
    sales = make_user("sales")
    mine = factories.contact(owner=sales, surname="张", given_name="伟")
    factories.contact(owner=sales, surname="李", given_name="娜")
    factories.contact(owner=make_user("sales"), surname="张", given_name="伟")
    body = bearer(sales).get("/api/v1/contacts", {"q": "zw"}).json()
    assert [c["id"] for c in body["items"]] == [mine.pk]
    assert {"count", "page", "pages"} <= set(body)
    assert bearer(sales).get("/api/v1/contacts").json()["count"] == 2


def test_the_contact_list_does_not_query_per_row(make_user, bearer):
    sales = make_user("sales")
    client = bearer(sales)
    account = factories.account(owner=sales)
    for _ in range(3):
        factories.contact(owner=sales, accounts=[(account, "采购")])
    client.get("/api/v1/contacts")  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/contacts")
    for _ in range(5):
        factories.contact(owner=sales, accounts=[(account, "采购")])
    with CaptureQueriesContext(connection) as many:
        client.get("/api/v1/contacts")
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_linking_a_contact_to_an_account_out_of_scope_is_refused(make_user, bearer):
    sales = make_user("sales")
    theirs = factories.account(owner=make_user("sales"))
    response = post(
        bearer(sales),
        "/api/v1/contacts",
        {"given_name": "Ann", "email": "ann@example.com", "accounts": [{"account_id": theirs.pk, "role": "CEO"}]},
    )
    assert response.status_code == 422 and list(response.json()["error"]["fields"]) == ["accounts"]


def test_patching_a_contact_sets_its_accounts_with_roles(make_user, bearer):
    sales = make_user("sales")
    account = factories.account(owner=sales, name="小米科技")
    contact = factories.contact(owner=sales)
    response = patch(
        bearer(sales), f"/api/v1/contacts/{contact.pk}", {"accounts": [{"account_id": account.pk, "role": "采购经理"}]}
    )
    assert response.status_code == 200
    assert response.json()["accounts"] == [{"account_id": account.pk, "name": "小米科技", "role": "采购经理"}]


def test_the_lifecycle_stage_is_not_an_input(make_user, bearer):
    sales = make_user("sales")
    contact = factories.contact(owner=sales)
    response = patch(bearer(sales), f"/api/v1/contacts/{contact.pk}", {"lifecycle_stage": "customer"})
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"lifecycle_stage": ["Unknown field."]}


def test_converting_a_lead_through_the_api(make_user, bearer):
    sales = make_user("sales")
    lead = factories.lead(owner=sales, surname="王", given_name="芳", company_name="小米科技")
    response = post(bearer(sales), f"/api/v1/leads/{lead.pk}/convert", {})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["lead"]["status"] == "converted"
    assert body["contact"]["converted_from_id"] == lead.pk
    assert body["contact"]["lifecycle_stage"] == "prospect"
    assert body["account"]["name"] == "小米科技"
    assert body["lead"]["converted_contact_id"] == body["contact"]["id"]
    again = post(bearer(sales), f"/api/v1/leads/{lead.pk}/convert", {})
    assert again.status_code == 422 and list(again.json()["error"]["fields"]) == ["status"]


def test_converting_into_an_account_out_of_scope_is_refused(make_user, bearer):
    sales = make_user("sales")
    lead = factories.lead(owner=sales)
    theirs = factories.account(owner=make_user("sales"))
    response = post(bearer(sales), f"/api/v1/leads/{lead.pk}/convert", {"account_id": theirs.pk})
    assert response.status_code == 422 and list(response.json()["error"]["fields"]) == ["account_id"]
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW


def test_one_search_box_finds_contacts_accounts_and_leads(make_user, bearer):
    sales = make_user("sales")
    account = factories.account(owner=sales, name="张伟贸易")
    contact = factories.contact(owner=sales, surname="张", given_name="伟")
    lead = factories.lead(owner=sales, surname="张", given_name="伟", company_name="")
    factories.contact(owner=make_user("sales"), surname="张", given_name="伟")
    body = bearer(sales).get("/api/v1/search", {"q": "zw"}).json()
    found = {(hit["type"], hit["id"]) for hit in body["items"]}
    assert found == {("contact", contact.pk), ("account", account.pk), ("lead", lead.pk)}
    assert body["items"][0]["url"] == contact.get_absolute_url()


def test_deleting_archives_and_the_record_answers_404_afterwards(make_user, bearer):
    admin = make_user("administrator")
    lead = factories.lead(owner=admin)
    client = bearer(admin)
    assert client.delete(f"/api/v1/leads/{lead.pk}").status_code == 204
    assert client.get(f"/api/v1/leads/{lead.pk}").status_code == 404
    assert Lead.objects.filter(pk=lead.pk).exists()
