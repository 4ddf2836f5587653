"""Custom fields and tags on deals, as on customers: defined by an administrator, filled in the deal form and the
API, shown on the deal page, and offered as list columns, list filters and export columns."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from guanxi.core import services as core_services
from guanxi.core.listviews import list_query_parse, list_rows
from guanxi.core.models import Event
from guanxi.sales import lists, services
from guanxi.sales.models import Deal

from . import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def contract_field(make_user):
    admin = make_user("administrator")
    return core_services.custom_field_create(
        actor=admin,
        record_type="deal",
        key="contract_type",
        label="合同类型",
        label_en="Contract type",
        kind="choice",
        choices=[{"value": "annual", "label": "Annual"}, {"value": "project", "label": "Project"}],
        required=False,
    )


def test_a_deal_keeps_cleaned_custom_values_and_tags_and_the_event_names_them(make_user, contract_field):
    """A choice given by its label is stored as its value; tags are created; `created` lists both changes."""
    rep = make_user("sales")
    deal = factories.deal(owner=rep, custom={"contract_type": "Annual"}, tags="重点客户, renewal")
    assert deal.custom == {"contract_type": "annual"}
    assert sorted(t.name for t in deal.tags.all()) == ["renewal", "重点客户"]
    created = Event.objects.for_object(deal).get(action="created")
    assert created.changes["custom_contract_type"] == [None, "annual"]
    assert created.changes["tags"][1] == ["renewal", "重点客户"]


def test_a_bad_custom_value_is_refused_with_the_field_named_and_nothing_saved(make_user, contract_field):
    rep = make_user("sales")
    deal = factories.deal(owner=rep, name="原名 Original")
    with pytest.raises(ValidationError) as exc:
        services.deal_update(deal=deal, actor=rep, name="新名 New", custom={"contract_type": "lifetime"})
    assert list(exc.value.message_dict) == ["custom_contract_type"]
    assert "not one of the choices of Contract type" in exc.value.message_dict["custom_contract_type"][0]
    deal.refresh_from_db()
    assert deal.name == "原名 Original"
    assert deal.custom == {}


def test_a_required_deal_field_is_enforced_on_create(make_user):
    admin = make_user("administrator")
    core_services.custom_field_create(
        actor=admin, record_type="deal", key="po_number", label="PO", kind="text", required=True
    )
    with pytest.raises(ValidationError) as exc:
        factories.deal(owner=admin)
    assert "custom_po_number" in exc.value.message_dict
    assert not Deal.objects.exists()


def test_the_deal_form_detail_and_list_carry_the_custom_field(make_user, login, contract_field):
    """The new-deal page has the field; a post stores it; the page shows its label and value; the list
    filters on `cf_contract_type` and offers it as a column (which the CSV export uses too)."""
    rep = make_user("sales", language="en")
    factories.deal(owner=rep, name="Other deal", custom={"contract_type": "project"})
    client = login(rep)
    form_page = client.get("/sales/deals/new/").content.decode()
    assert 'name="custom_contract_type"' in form_page and 'name="tags"' in form_page
    currency = factories.cny()
    response = client.post(
        "/sales/deals/new/",
        {"name": "年度合同 Annual deal", "currency": currency.pk, "custom_contract_type": "annual", "tags": "VIP"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    deal = Deal.objects.get(name="年度合同 Annual deal")
    assert deal.custom == {"contract_type": "annual"}
    detail = client.get(f"/sales/deals/{deal.pk}/").content.decode()
    assert "Contract type" in detail and "Annual" in detail and "VIP" in detail
    listing = client.get("/sales/deals/?cf_contract_type=annual&cols=name,cf_contract_type,tags").content.decode()
    assert "年度合同 Annual deal" in listing and "Other deal" not in listing
    query = list_query_parse(lists.DEALS, {"cols": "name,cf_contract_type,tags"}, viewer=rep)
    assert [c.key for c in query.columns] == ["name", "cf_contract_type", "tags"]
    rows = {row.name: row for row in list_rows(query, viewer=rep)}
    values = {c.key: c.value(rows["年度合同 Annual deal"]) for c in query.columns}
    assert values == {"name": "年度合同 Annual deal", "cf_contract_type": "Annual", "tags": "VIP"}


def test_the_deal_api_reads_and_writes_custom_values_and_tags(make_user, bearer, contract_field):
    rep = make_user("sales")
    api = bearer(rep)
    created = api.post(
        "/api/v1/deals",
        {"name": "API deal", "custom": {"contract_type": "project"}, "tags": ["渠道"]},
        "application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["custom"] == {"contract_type": "project"} and body["tags"] == ["渠道"]
    patched = api.patch(f"/api/v1/deals/{body['id']}", {"custom": {"contract_type": "bad"}}, "application/json")
    assert patched.status_code == 422 and "custom_contract_type" in str(patched.json())
    listed = api.get("/api/v1/deals?cf_contract_type=project").json()["items"]
    assert [row["id"] for row in listed] == [body["id"]]
    schema = api.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert "custom" in schema["DealOut"]["properties"] and "tags" in schema["DealIn"]["properties"]
