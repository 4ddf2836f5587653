"""Custom fields, tags and required-field rules on accounts, contacts and leads: services, filters, pages, API."""

from __future__ import annotations

import json
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from guanxi.core import services as core_services
from guanxi.core.models import Event, Tag
from guanxi.core.pii import pii_value
from guanxi.customers import selectors, services
from guanxi.customers.models import Account, Contact

from . import factories

pytestmark = pytest.mark.django_db


def define(kind: str, key: str, record_type: str = "contact", **options):
    options.setdefault("label", key)
    return core_services.custom_field_create(actor=None, record_type=record_type, key=key, kind=kind, **options)


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


# --- services ---------------------------------------------------------------------------------


def test_a_contact_is_created_with_cleaned_custom_values_and_the_event_lists_them(make_user):
    sales = make_user("sales")
    define("choice", "level", choices=["gold | 金卡", "silver | 银卡"])
    define("money", "budget", record_type="contact")
    contact = factories.contact(owner=sales, custom={"level": "金卡", "budget": "5000"})
    contact.refresh_from_db()
    assert contact.custom == {"level": "gold", "budget": "5000.00"}
    event = Event.objects.for_object(contact).get(action="created")
    assert event.changes["custom_level"] == [None, "gold"]
    assert event.changes["custom_budget"] == [None, "5000.00"]


def test_an_update_changes_only_the_given_keys_and_records_before_and_after(make_user):
    sales = make_user("sales")
    define("text", "region")
    define("number", "staff")
    contact = factories.contact(owner=sales, custom={"region": "华东", "staff": 20})
    services.contact_update(contact=contact, actor=sales, custom={"staff": "25"})
    contact.refresh_from_db()
    assert contact.custom == {"region": "华东", "staff": 25}
    event = Event.objects.for_object(contact).get(action="updated")
    assert event.changes == {"custom_staff": [20, 25]}


def test_a_bad_custom_value_refuses_the_whole_change_naming_every_field(make_user):
    sales = make_user("sales")
    define("date", "birthday")
    with pytest.raises(ValidationError) as exc:
        factories.contact(owner=sales, phone="not a phone", custom={"birthday": "soon"}, tags=["新标签"])
    assert {"phone", "custom_birthday"} <= set(exc.value.message_dict)
    assert not Contact.objects.exists()
    assert not Tag.objects.exists()  # the tag the refused change would have created is gone too


def test_a_unique_field_refuses_a_value_another_record_has_ignoring_case(make_user):
    sales = make_user("sales")
    define("email", "wechat_mail", unique=True)
    first = factories.contact(owner=sales, custom={"wechat_mail": "wei@example.com"})
    with pytest.raises(ValidationError) as exc:
        factories.contact(owner=sales, custom={"wechat_mail": "WEI@example.com"})
    assert "custom_wechat_mail" in exc.value.message_dict
    # saving the holder again with its own value is fine
    services.contact_update(contact=first, actor=sales, custom={"wechat_mail": "wei@example.com"})


def test_required_custom_fields_are_enforced_on_create_and_update(make_user):
    sales = make_user("sales")
    account = factories.account(owner=sales)
    define("choice", "segment", record_type="account", required=True, choices=["smb", "enterprise"])
    with pytest.raises(ValidationError) as exc:
        factories.account(owner=sales)
    assert "custom_segment" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.account_update(account=account, actor=sales, industry="制造")
    services.account_update(account=account, actor=sales, custom={"segment": "smb"})


def test_required_built_in_fields_are_enforced_with_the_same_error_shape(make_user):
    sales = make_user("sales")
    core_services.field_rules_set(record_type="contact", required=["email"], actor=None)
    core_services.field_rules_set(record_type="account", required=["industry"], actor=None)
    with pytest.raises(ValidationError) as exc:
        factories.contact(owner=sales, phone="13800138000")
    assert list(exc.value.message_dict) == ["email"]
    contact = factories.contact(owner=sales, email="li@example.com")
    with pytest.raises(ValidationError) as exc:
        services.contact_update(contact=contact, actor=sales, email="")
    assert "email" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        factories.account(owner=sales)
    assert "industry" in exc.value.message_dict


def test_lead_conversion_is_not_blocked_by_rules_the_lead_cannot_meet_and_keeps_the_tags(make_user):
    sales = make_user("sales")
    lead = factories.lead(owner=sales, tags=["展会 Expo"])
    core_services.field_rules_set(record_type="contact", required=["email"], actor=None)
    define("text", "segment", record_type="account", required=True)
    contact, account = services.lead_convert(lead=lead, actor=sales)
    assert [t.name for t in contact.tags.all()] == ["展会 Expo"]
    assert account is not None


def test_tags_are_set_from_names_and_changes_are_recorded(make_user):
    sales = make_user("sales")
    account = factories.account(owner=sales, tags="重点客户, VIP")
    assert sorted(t.name for t in account.tags.all()) == ["VIP", "重点客户"]
    assert Event.objects.for_object(account).get(action="created").changes["tags"] == [None, ["VIP", "重点客户"]]
    services.account_update(account=account, actor=sales, tags=["vip"])
    assert [t.name for t in account.tags.all()] == ["VIP"]  # matched whatever the case
    assert Event.objects.for_object(account).get(action="updated").changes["tags"] == [["VIP", "重点客户"], ["VIP"]]
    services.account_update(account=account, actor=sales, industry="制造")  # tags untouched when not given
    assert [t.name for t in account.tags.all()] == ["VIP"]


# --- filters ----------------------------------------------------------------------------------


@pytest.fixture
def catalogue(make_user):
    """Three contacts with values of every filterable kind."""
    sales = make_user("sales")
    define("choice", "level", choices=["gold", "silver"])
    define("multi_choice", "interests", choices=["tea", "wine", "golf"])
    define("boolean", "vip")
    define("number", "staff")
    define("money", "budget")
    define("date", "since")
    define("phone", "wechat")
    define("text", "region")
    rows = {
        "a": factories.contact(
            owner=sales,
            custom={
                "level": "gold",
                "interests": ["tea", "golf"],
                "vip": True,
                "staff": 5,
                "budget": "900.50",
                "since": "2024-05-01",
                "wechat": "13800138000",
                "region": "华东",
            },
        ),
        "b": factories.contact(
            owner=sales,
            custom={"level": "silver", "interests": ["wine"], "vip": False, "staff": 50, "budget": "12000"},
        ),
        "c": factories.contact(owner=sales, custom={"since": "2026-01-15"}),
    }
    return sales, rows


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"cf_level": "gold"}, {"a"}),
        ({"cf_interests": "golf"}, {"a"}),
        ({"cf_interests": "wine"}, {"b"}),
        ({"cf_vip": "true"}, {"a"}),
        ({"cf_vip": "false"}, {"b"}),
        ({"cf_staff": "50"}, {"b"}),
        ({"cf_staff__gte": "10"}, {"b"}),
        ({"cf_staff__lte": "10"}, {"a"}),
        ({"cf_budget__gte": "1000"}, {"b"}),
        ({"cf_budget": "900.5"}, {"a"}),
        ({"cf_since__gte": "2025-01-01"}, {"c"}),
        ({"cf_since__lte": "2025-01-01"}, {"a"}),
        ({"cf_wechat": "138 0013 8000"}, {"a"}),
        ({"cf_region": "华东"}, {"a"}),
        ({"cf_level": "gold", "cf_vip": "false"}, set()),
        ({"cf_level": "", "q": "ignored"}, {"a", "b", "c"}),
    ],
)
def test_custom_filter_turns_cf_parameters_into_queries(catalogue, params, expected):
    """The same filters give the same rows on SQLite (json_extract) and PostgreSQL (@> on the GIN index)."""
    sales, rows = catalogue
    found = selectors.custom_filter(selectors.contacts_visible_to(sales), "contact", params)
    names = {name for name, row in rows.items() if row.pk in {c.pk for c in found}}
    assert names == expected


@pytest.mark.parametrize(
    "params",
    [{"cf_nope": "1"}, {"cf_level": "platinum"}, {"cf_region__gte": "a"}, {"cf_staff__near": "1"}],
)
def test_a_bad_filter_is_refused_naming_the_parameter(catalogue, params):
    sales, _rows = catalogue
    with pytest.raises(ValidationError) as exc:
        selectors.custom_filter(selectors.contacts_visible_to(sales), "contact", params)
    assert list(exc.value.message_dict) == list(params)


def test_on_postgresql_an_equality_filter_uses_containment_and_the_gin_index(make_user):
    """With enough rows the planner answers `custom @> {...}` from customers_account_custom_gin."""
    if connection.vendor != "postgresql":
        pytest.skip("the GIN index exists on PostgreSQL only")
    define("text", "code", record_type="account")
    Account.objects.bulk_create(
        Account(name=f"公司 {i}", custom={"code": f"C{i:05d}", "note": "x" * 20}) for i in range(20000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_account")
    rows = selectors.custom_filter(Account.objects.all(), "account", {"cf_code": "C00042"})
    sql, params = rows.query.sql_with_params()
    assert "@>" in sql
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "customers_account_custom_gin" in plan, plan
    assert [a.name for a in rows] == ["公司 42"]


# --- pages ------------------------------------------------------------------------------------


def test_a_field_defined_in_settings_appears_in_the_form_and_on_the_detail_page(make_user, login):
    """No restart: the next request's form has the field; the detail page shows the value formatted."""
    admin = make_user("administrator")
    client = login(admin)
    response = client.post(
        "/settings/fields/new/",
        {
            "record_type": "account",
            "key": "annual",
            "label": "年采购额",
            "label_en": "Annual purchasing",
            "kind": "money",
            "min": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    client.post(
        "/settings/fields/new/", {"record_type": "account", "key": "owner_rep", "label": "客户经理", "kind": "user"}
    )
    client.post(
        "/settings/fields/new/",
        {"record_type": "account", "key": "grade", "label": "等级", "kind": "choice", "choices": "a | 甲级\nb | 乙级"},
    )
    form = client.get("/accounts/new/").content.decode()
    assert 'name="custom_annual"' in form and "年采购额" in form and 'name="custom_grade"' in form
    response = client.post(
        "/accounts/new/",
        {
            "name": "海尔集团",
            "custom_annual": "1234567.5",
            "custom_owner_rep": str(admin.pk),
            "custom_grade": "a",
            "tags": "重点客户, 华东",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    account = Account.objects.get(name="海尔集团")
    assert account.custom == {"annual": "1234567.50", "owner_rep": admin.pk, "grade": "a"}
    page = client.get(account.get_absolute_url()).content.decode()
    assert "1,234,567.50" in page and "甲级" in page and str(admin) in page
    assert "重点客户" in page and "badge" in page
    edit = client.get(f"/accounts/{account.pk}/edit/").content.decode()
    assert 'value="1234567.50"' in edit and "华东, 重点客户" in edit


def test_a_bad_value_in_the_form_is_shown_on_its_field(make_user, login):
    admin = make_user("administrator")
    define("number", "staff", label="员工人数", rules={"min": 1})
    client = login(admin)
    client.cookies["django_language"] = "zh-hans"
    response = client.post("/contacts/new/", {"surname": "李", "phone": "13800138000", "custom_staff": "0"})
    assert response.status_code == 200
    assert "员工人数" in response.content.decode()
    assert not Contact.objects.exists()


def test_required_built_in_fields_are_set_in_settings_and_marked_in_the_form(make_user, login):
    admin = make_user("administrator")
    client = login(admin)
    assert client.post("/settings/fields/required/contact/", {"required": ["email"]}).status_code == 302
    form = client.get("/contacts/new/").content.decode()
    assert 'name="email"' in form and "required" in form.split('name="email"')[1].split(">")[0]
    response = client.post("/contacts/new/", {"surname": "李", "phone": "13800138000"})
    assert response.status_code == 200 and not Contact.objects.exists()


def test_the_settings_pages_list_deactivate_and_manage_tags_in_every_language(make_user, login):
    admin = make_user("administrator")
    field = define("text", "region", label="区域")
    tag = core_services.tag_create(name="VIP", actor=None)
    client = login(admin)
    for language in ("zh-hans", "zh-hant", "en"):
        client.cookies["django_language"] = language
        assert "区域" in client.get("/settings/fields/").content.decode()
        assert "VIP" in client.get("/settings/tags/").content.decode()
    assert client.post(f"/settings/fields/{field.pk}/deactivate/").status_code == 302
    assert 'name="custom_region"' not in client.get("/contacts/new/").content.decode()
    assert client.post(f"/settings/tags/{tag.pk}/edit/", {"name": "VIP 客户", "colour": "red"}).status_code == 302
    tag.refresh_from_db()
    assert (tag.name, tag.colour) == ("VIP 客户", "red")
    assert client.post(f"/settings/tags/{tag.pk}/delete/").status_code == 302
    assert not Tag.objects.exists()


def test_the_contact_list_page_filters_on_custom_fields(catalogue, login):
    sales, rows = catalogue
    page = login(sales).get("/contacts/?cf_level=silver").content.decode()
    assert rows["b"].full_name in page and rows["a"].full_name not in page


def test_custom_fields_are_list_columns_that_show_formatted_values_and_sort(catalogue, login):
    sales, rows = catalogue
    client = login(sales)
    page = client.get("/contacts/?cols=name,cf_level,cf_budget&sort=-cf_staff").content.decode()
    assert "budget" in page and "900.50" in page and "12,000.00" in page, "money shown with two decimals"
    sorted_page = client.get("/contacts/?cols=name,cf_staff&sort=-cf_staff").content.decode()
    assert sorted_page.index(rows["b"].full_name) < sorted_page.index(rows["a"].full_name), "50 staff before 5"
    range_page = client.get("/contacts/?cf_budget__gte=1000").content.decode()
    assert rows["b"].full_name in range_page and rows["a"].full_name not in range_page


def test_a_tag_filters_the_list_and_shows_as_a_column(make_user, login):
    sales = make_user("sales")
    tagged = factories.contact(owner=sales, tags=["重点客户"])
    plain = factories.contact(owner=sales)
    tag = Tag.objects.get(name="重点客户")
    page = login(sales).get(f"/contacts/?tag={tag.pk}&cols=name,tags").content.decode()
    assert tagged.full_name in page and plain.full_name not in page
    assert "重点客户" in page
    refused = login(sales).get("/contacts/?tag=999999")
    assert refused.status_code == 400, "an unknown tag is a bad filter value, not an empty list"


# --- API --------------------------------------------------------------------------------------


def test_clients_learn_the_custom_fields_at_run_time(make_user, bearer):
    analyst = make_user("analyst")
    define("choice", "level", label="会员等级", label_en="Membership level", choices=["gold | 金卡"])
    hidden = define("text", "old")
    core_services.custom_field_deactivate(field=hidden, actor=None)
    body = bearer(analyst).get("/api/v1/custom-fields?record_type=contact").json()
    assert [f["key"] for f in body] == ["level"]
    assert body[0]["name"] == "custom_level" and body[0]["choices"] == [{"value": "gold", "label": "金卡"}]
    response = bearer(analyst).get("/api/v1/custom-fields?record_type=spaceship")
    assert response.status_code == 422 and "record_type" in response.json()["error"]["fields"]


def test_administrators_define_fields_through_the_api(make_user, bearer):
    admin = make_user("administrator")
    client = bearer(admin)
    response = post(
        client, "/api/v1/custom-fields", {"record_type": "lead", "key": "budget", "label": "预算", "kind": "money"}
    )
    assert response.status_code == 201, response.content
    field_id = response.json()["id"]
    assert patch(client, f"/api/v1/custom-fields/{field_id}", {"required": True}).json()["required"] is True
    bad = patch(client, f"/api/v1/custom-fields/{field_id}", {"rules": {"regex": "x"}})
    assert bad.status_code == 422 and "rules" in bad.json()["error"]["fields"]
    assert client.delete(f"/api/v1/custom-fields/{field_id}").json()["active"] is False


def test_a_contact_is_created_and_patched_with_custom_values_and_tags(make_user, bearer):
    manager = make_user("manager")
    define("choice", "level", choices=["gold", "silver"])
    define("date", "birthday")
    client = bearer(manager)
    response = post(
        client,
        "/api/v1/contacts",
        {"surname": "张", "phone": "13800138000", "custom": {"level": "gold"}, "tags": ["VIP", "华东"]},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["custom"] == {"level": "gold"} and sorted(body["tags"]) == ["VIP", "华东"]
    response = patch(client, f"/api/v1/contacts/{body['id']}", {"custom": {"birthday": "1990-02-03"}})
    assert response.json()["custom"] == {"level": "gold", "birthday": "1990-02-03"}
    assert sorted(response.json()["tags"]) == ["VIP", "华东"]


def test_a_bad_custom_value_is_a_422_in_the_one_error_shape(make_user, bearer):
    manager = make_user("manager")
    define("number", "staff", record_type="account", label="Staff", rules={"max": 100})
    with translation.override("en"):
        response = post(bearer(manager), "/api/v1/accounts", {"name": "腾讯", "custom": {"staff": 1000, "zzz": 1}})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"]["custom_staff"] == ["Staff must be at most 100."]
    assert "custom_zzz" in error["fields"]
    assert not Account.objects.exists()


def test_custom_phone_and_email_values_are_masked_without_view_pii(make_user, bearer):
    sales = make_user("sales")
    define("phone", "wechat")
    contact = factories.contact(owner=sales, custom={"wechat": "13800138000"})
    masked = bearer(sales).get(f"/api/v1/contacts/{contact.pk}").json()["custom"]["wechat"]
    assert masked == pii_value("+8613800138000", kind="phone", user=sales) and "0013" not in masked
    admin = make_user("administrator")  # administrators hold view_pii
    assert bearer(admin).get(f"/api/v1/contacts/{contact.pk}").json()["custom"]["wechat"] == "+8613800138000"


def test_custom_phone_and_email_values_are_masked_in_the_history_without_view_pii(make_user):
    sales = make_user("sales")
    define("phone", "wechat")
    define("email", "private_mail")
    define("text", "nickname")
    contact = factories.contact(owner=sales, custom={"wechat": "13800138000", "private_mail": "wei@example.com"})
    services.contact_update(contact=contact, actor=sales, custom={"wechat": "13900139000", "nickname": "Wei"})
    created, updated = Event.objects.for_object(contact).filter(action__in=["created", "updated"]).order_by("id")
    seen = {**created.changes_for(sales), **updated.changes_for(sales)}
    assert "0013" not in str(seen) and "0013" not in str(updated.changes_for(sales))
    assert seen["custom_private_mail"] == [None, pii_value("wei@example.com", kind="email", user=sales)]
    assert seen["custom_nickname"] == [None, "Wei"]  # not personal data: shown whole
    admin = make_user("administrator")
    assert updated.changes_for(admin)["custom_wechat"] == ["+8613800138000", "+8613900139000"]


def test_list_endpoints_filter_on_custom_fields_and_refuse_bad_filters(catalogue, bearer):
    sales, rows = catalogue
    body = bearer(sales).get("/api/v1/contacts?cf_interests=wine").json()
    assert [item["id"] for item in body["items"]] == [rows["b"].pk]
    response = bearer(sales).get("/api/v1/contacts?cf_nope=1")
    assert response.status_code == 422 and "cf_nope" in response.json()["error"]["fields"]


def test_tags_api_lists_and_creates_tags(make_user, bearer):
    sales = make_user("sales")
    assert post(bearer(sales), "/api/v1/tags", {"name": "老客户", "colour": "green"}).status_code == 201
    duplicate = post(bearer(sales), "/api/v1/tags", {"name": "老客户"})
    assert duplicate.status_code == 422 and "name" in duplicate.json()["error"]["fields"]
    assert [t["name"] for t in bearer(sales).get("/api/v1/tags").json()["items"]] == ["老客户"]


def test_the_contact_list_endpoint_costs_the_same_queries_however_many_tagged_rows(catalogue, bearer):
    sales, _rows = catalogue
    client = bearer(sales)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/contacts").status_code == 200
        return len(ctx.captured_queries)

    count()
    few = count()
    for i in range(10):
        factories.contact(owner=sales, tags=[f"T{i}", "共同"], custom={"level": "gold"})
    assert count() == few


def test_the_history_names_changed_custom_fields_by_their_label(make_user, login):
    admin = make_user("administrator")
    define("text", "region", label="销售区域")
    contact = factories.contact(owner=admin, custom={"region": "华东"})
    services.contact_update(contact=contact, actor=admin, custom={"region": "华南"})
    page = login(admin).get(contact.get_absolute_url()).content.decode()
    assert "销售区域" in page and "华南" in page and "custom_region" not in page


def test_an_administrator_edits_a_field_in_settings_and_the_form_follows(make_user, login):
    admin = make_user("administrator")
    field = define("choice", "level", label="等级", choices=["gold"])
    client = login(admin)
    page = client.get(f"/settings/fields/{field.pk}/edit/").content.decode()
    assert 'name="key"' in page and "disabled" in page.split('name="key"')[1].split(">")[0]
    response = client.post(
        f"/settings/fields/{field.pk}/edit/",
        {"label": "会员等级", "choices": "gold | 金卡\nsilver | 银卡", "required": "on", "active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    field.refresh_from_db()
    assert (field.key, field.label, field.required) == ("level", "会员等级", True)
    form = client.get("/contacts/new/").content.decode()
    assert "银卡" in form and "会员等级" in form


def test_the_openapi_schema_describes_custom_fields_and_tags(make_user, login):
    schema = login(make_user("sales")).get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/custom-fields"]["get"]
    assert "no restart" in operation["description"]
    assert "custom" in schema["components"]["schemas"]["ContactOut"]["properties"]
    assert "tags" in schema["components"]["schemas"]["ContactIn"]["properties"]


def test_converting_a_lead_carries_custom_values_that_contacts_have_too(make_user):
    sales = make_user("sales")
    for record_type in ("lead", "contact"):
        core_services.custom_field_create(
            actor=None, record_type=record_type, key="wechat", label="微信号", kind="text"
        )
    core_services.custom_field_create(actor=None, record_type="lead", key="campaign", label="活动", kind="text")
    lead = factories.lead(owner=sales, custom={"wechat": "wx_li", "campaign": "2026 展会"})
    contact, _account = services.lead_convert(lead=lead, actor=sales)
    assert contact.custom == {"wechat": "wx_li"}, "a lead-only field stays on the lead"


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_saves_of_the_same_unique_value_cannot_both_pass(make_user):
    """The second save waits for the first to commit, then sees its value and is refused."""
    sales = make_user("sales")
    define("text", "member_no", unique=True)
    first_saved, let_first_commit = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                factories.contact(owner=sales, custom={"member_no": "M-1"})
                first_saved.set()
                let_first_commit.wait(10)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            factories.contact(owner=sales, custom={"member_no": "m-1"})
            outcome["second"] = "saved"
        except ValidationError as exc:
            outcome["second"] = exc.message_dict
        finally:
            connections.close_all()

    a = threading.Thread(target=first)
    a.start()
    assert first_saved.wait(10)
    b = threading.Thread(target=second)
    b.start()
    b.join(1.0)
    assert b.is_alive(), "the second save must wait while the first holds the value uncommitted"
    let_first_commit.set()
    a.join(10)
    b.join(30)
    assert "custom_member_no" in outcome["second"]
    assert Contact.objects.filter(custom__member_no="M-1").count() == 1
