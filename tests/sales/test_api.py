"""The sales API: pipelines read by all and written by administrators, deals with moves and named errors, reports."""

from datetime import date

import pytest

from guanxi.core.models import Event
from guanxi.sales.models import Deal

from ..customers import factories as customer_factories
from . import factories

pytestmark = pytest.mark.django_db


def test_pipelines_list_their_stages_in_order(make_user, bearer):
    pipeline = factories.pipeline(name="API pipeline")
    body = bearer(make_user("sales")).get("/api/v1/pipelines").json()
    mine = next(p for p in body if p["id"] == pipeline.pk)
    assert [s["probability"] for s in mine["stages"]] == [10, 25, 50, 75, 100, 0]
    assert mine["stages"][2]["required_fields"] == ["amount"]


def test_a_deal_is_created_moved_and_refused_with_named_fields(make_user, bearer):
    rep = make_user("sales")
    client = bearer(rep)
    pipeline = factories.pipeline()
    account = customer_factories.account(owner=rep)
    created = client.post(
        "/api/v1/deals",
        {"name": "API deal", "pipeline_id": pipeline.pk, "account_id": account.pk, "currency": "CNY"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    deal_id = created.json()["id"]
    assert created.json()["stage_id"] == factories.stage(pipeline, 0).pk
    refused = client.post(
        f"/api/v1/deals/{deal_id}/move",
        {"stage_id": factories.stage(pipeline, 2).pk},
        content_type="application/json",
    )
    assert refused.status_code == 422
    assert "amount" in refused.json()["error"]["fields"]
    patched = client.patch(f"/api/v1/deals/{deal_id}", {"amount": "9000"}, content_type="application/json")
    assert patched.json()["amount"] == "9000.00"
    moved = client.post(
        f"/api/v1/deals/{deal_id}/move", {"stage_id": factories.stage(pipeline, 2).pk}, content_type="application/json"
    )
    assert moved.status_code == 200 and moved.json()["stage_id"] == factories.stage(pipeline, 2).pk
    lost = client.post(
        f"/api/v1/deals/{deal_id}/move", {"stage_id": factories.stage(pipeline, 5).pk}, content_type="application/json"
    )
    assert lost.status_code == 422 and "lost_reason_id" in lost.json()["error"]["fields"]
    assert Event.objects.filter(object_id=deal_id, action="stage_changed").count() == 1


def test_a_deal_in_a_currency_without_a_rate_is_refused(make_user, bearer):
    factories.currency("JPY", rate=None)
    response = bearer(make_user("sales")).post(
        "/api/v1/deals",
        {"name": "Yen", "pipeline_id": factories.pipeline().pk, "currency": "JPY", "amount": "100"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "currency" in response.json()["error"]["fields"]
    assert not Deal.objects.filter(name="Yen").exists()


def test_the_deal_list_takes_the_list_page_filters(make_user, bearer):
    rep = make_user("sales")
    pipeline = factories.pipeline()
    factories.deal(owner=rep, pipeline=pipeline, name="open one")
    won = factories.deal(owner=rep, pipeline=pipeline, name="won one")
    from guanxi.sales import services

    services.deal_move(deal=won, stage=factories.stage(pipeline, 4), actor=rep)
    client = bearer(rep)
    names = [d["name"] for d in client.get("/api/v1/deals", {"status": "won"}).json()["items"]]
    assert names == ["won one"]
    assert client.get("/api/v1/deals", {"status": "nope"}).status_code == 422


def test_reports_answer_over_the_api(make_user, bearer):
    rep = make_user("sales")
    pipeline = factories.pipeline()
    factories.deal(owner=rep, pipeline=pipeline, amount="100", expected_close=date(2031, 5, 5))
    client = bearer(rep)
    funnel = client.get("/api/v1/reports/funnel", {"pipeline_id": pipeline.pk}).json()
    assert funnel[0]["deals"] == 1 and funnel[0]["reached"] == 1
    forecast = client.get(
        "/api/v1/reports/forecast", {"pipeline_id": pipeline.pk, "start": "2031-05-01", "months": 1}
    ).json()
    assert forecast[0]["weighted"] == "10.00"
    won_lost = client.get("/api/v1/reports/won-lost", {"pipeline_id": pipeline.pk}).json()
    assert won_lost["by_owner"][0]["open"] == 1


def test_only_administrators_change_stages(make_user, bearer):
    pipeline = factories.pipeline()
    stage = factories.stage(pipeline, 0)
    url = f"/api/v1/pipelines/{pipeline.pk}/stages/{stage.pk}"
    assert bearer(make_user("sales")).patch(url, {"probability": 5}, content_type="application/json").status_code == 403
    bad = bearer(make_user("administrator")).patch(
        url, {"required_fields": ["nonsense"]}, content_type="application/json"
    )
    assert bad.status_code == 422 and "required_fields" in bad.json()["error"]["fields"]


def test_converting_a_lead_over_the_api_can_open_a_deal(make_user, bearer):
    rep = make_user("sales")
    factories.pipeline(default=True)
    lead = customer_factories.lead(owner=rep)
    response = bearer(rep).post(
        f"/api/v1/leads/{lead.pk}/convert",
        {"deal": {"name": "续费", "amount": "1200"}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    deal = Deal.objects.get(pk=response.json()["deal_id"])
    assert deal.lead == lead and str(deal.amount) == "1200.00"
