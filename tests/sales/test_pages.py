"""Sales pages: the kanban board (paged columns, moves that succeed or are refused), deal pages, reports, settings."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from guanxi.core.models import Event
from guanxi.sales import selectors
from guanxi.sales.models import Deal, Stage

from ..customers import factories as customer_factories
from . import factories

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def rep(make_user):
    return make_user("sales", language="en")


def test_the_board_shows_every_stage_with_its_count_and_total(rep, login):
    pipeline = factories.pipeline()
    factories.deal(owner=rep, pipeline=pipeline, name="云服务 Cloud", amount="1000")
    factories.deal(owner=rep, pipeline=pipeline, name="培训 Training", amount="500")
    page = login(rep).get(reverse("pipeline-board", args=[pipeline.pk])).content.decode()
    for stage in pipeline.stages.all():
        assert stage.name in page
    assert "云服务 Cloud" in page and "培训 Training" in page
    first = factories.stage(pipeline, 0)
    assert f'data-count="{first.pk}" data-value="2">2<' in page
    assert f'data-total="{first.pk}" data-value="1500.000000">1,500<' in page


def test_an_empty_board_says_what_to_do_next(rep, login):
    page = login(rep).get(reverse("pipeline-board", args=[factories.pipeline().pk])).content.decode()
    assert "No deals in this pipeline yet." in page


def test_the_board_query_count_does_not_grow_with_the_cards(rep, login):
    pipeline = factories.pipeline()
    client = login(rep)
    account = customer_factories.account(owner=rep)
    factories.deal(owner=rep, pipeline=pipeline, account=account)
    url = reverse("pipeline-board", args=[pipeline.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(5):
        factories.deal(owner=rep, pipeline=pipeline, account=account)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_a_column_shows_fifty_cards_and_loads_the_rest_on_demand(rep, login, monkeypatch):
    monkeypatch.setattr(selectors, "COLUMN_PAGE", 3)
    pipeline = factories.pipeline()
    deals = [factories.deal(owner=rep, pipeline=pipeline, name=f"Deal-{i:02d}") for i in range(5)]
    client = login(rep)
    board = client.get(reverse("pipeline-board", args=[pipeline.pk]))
    first_column = board.context["columns"][0]
    assert [d["id"] for d in first_column.deals] == [d.pk for d in reversed(deals)][:3]
    assert first_column.more
    more = client.get(reverse("board-column", args=[pipeline.pk, first_column.stage.pk]), {"after": first_column.more})
    assert [d["id"] for d in more.context["deals"]] == [deals[1].pk, deals[0].pk]
    assert more.context["more"] == ""


def test_dropping_a_card_on_another_column_moves_the_deal(rep, login):
    pipeline = factories.pipeline()
    deal = factories.deal(owner=rep, pipeline=pipeline, amount="800")
    target = factories.stage(pipeline, 2)
    response = login(rep).post(reverse("deal-move", args=[deal.pk]), {"stage": target.pk}, **JSON)
    assert response.status_code == 200
    data = response.json()
    assert data["ok"] and data["stage"] == target.pk and data["from_stage"] == factories.stage(pipeline, 0).pk
    deal.refresh_from_db()
    assert deal.stage == target
    assert Event.objects.for_object(deal).filter(action="stage_changed").exists()


def test_a_refused_drop_answers_422_with_the_translated_reason_and_changes_nothing(rep, login):
    pipeline = factories.pipeline()
    deal = factories.deal(owner=rep, pipeline=pipeline)
    target = factories.stage(pipeline, 2)
    response = login(rep).post(reverse("deal-move", args=[deal.pk]), {"stage": target.pk}, **JSON)
    assert response.status_code == 422
    assert "Amount is required" in response.json()["error"]
    assert "amount" in response.json()["fields"]
    deal.refresh_from_db()
    assert deal.stage.position == 0


def test_the_detail_page_move_form_reports_a_missing_lost_reason(rep, login):
    pipeline = factories.pipeline()
    deal = factories.deal(owner=rep, pipeline=pipeline)
    client = login(rep)
    response = client.post(
        reverse("deal-move", args=[deal.pk]), {"stage": factories.stage(pipeline, 5).pk}, follow=True
    )
    assert "Choose why the deal was lost." in response.content.decode()


def test_the_stale_filter_keeps_only_deals_without_recent_activity(rep, login):
    pipeline = factories.pipeline()
    quiet = factories.deal(owner=rep, pipeline=pipeline, name="安静 Quiet")
    factories.deal(owner=rep, pipeline=pipeline, name="活跃 Busy")
    Deal.objects.filter(pk=quiet.pk).update(last_activity_at=timezone.now() - timedelta(days=20))
    client = login(rep)
    board = client.get(reverse("pipeline-board", args=[pipeline.pk]), {"stale": "1"}).content.decode()
    assert "安静 Quiet" in board and "活跃 Busy" not in board
    listing = client.get(reverse("deal-list"), {"stale": "yes"}).content.decode()
    assert "安静 Quiet" in listing and "活跃 Busy" not in listing


def test_the_deal_list_filters_by_stage_and_exports_the_same_columns(rep, login):
    pipeline = factories.pipeline()
    factories.deal(owner=rep, pipeline=pipeline, name="A-deal")
    other = factories.deal(owner=rep, pipeline=pipeline, name="B-deal")
    from guanxi.sales import services

    services.deal_move(deal=other, stage=factories.stage(pipeline, 1), actor=rep)
    page = login(rep).get(reverse("deal-list"), {"stage": factories.stage(pipeline, 1).pk}).content.decode()
    assert "B-deal" in page and "A-deal" not in page


def test_creating_a_deal_in_the_form_opens_its_page_with_the_timeline(rep, login):
    account = customer_factories.account(owner=rep, name="阿里巴巴 Alibaba")
    contact = customer_factories.contact(owner=rep)
    factories.pipeline(default=True)
    client = login(rep)
    response = client.post(
        reverse("deal-create"),
        {
            "name": "电商平台 Shop",
            "account": account.pk,
            "contacts": [contact.pk],
            "amount": "50,000",
            "currency": factories.cny().pk,
        },
    )
    deal = Deal.objects.get(name="电商平台 Shop")
    assert response.status_code == 302 and response["Location"] == deal.get_absolute_url()
    page = client.get(deal.get_absolute_url()).content.decode()
    assert "阿里巴巴 Alibaba" in page and "History" in page and "created" in page


def test_a_negative_amount_in_the_form_is_shown_on_the_amount_field(rep, login):
    factories.pipeline(default=True)
    response = login(rep).post(reverse("deal-create"), {"name": "X", "amount": "-3", "currency": factories.cny().pk})
    assert response.status_code == 200
    assert response.context["form"].errors["amount"]


def test_a_task_added_on_the_deal_page_appears_there(rep, login):
    deal = factories.deal(owner=rep, account=customer_factories.account(owner=rep))
    client = login(rep)
    client.post(
        reverse("deal-task-add", args=[deal.pk]), {"subject": "寄样品 Send samples", "due_at": "2030-05-01T09:00"}
    )
    assert "寄样品 Send samples" in client.get(deal.get_absolute_url()).content.decode()


def test_the_reports_page_shows_funnel_forecast_and_won_lost_tables(rep, login):
    pipeline = factories.pipeline(default=True)
    deal = factories.deal(owner=rep, pipeline=pipeline, amount="1000", expected_close=timezone.localdate())
    from guanxi.sales import services

    services.deal_move(deal=deal, stage=factories.stage(pipeline, 2), actor=rep)
    page = login(rep).get(reverse("sales-reports"), {"pipeline": pipeline.pk}).content.decode()
    assert 'id="chart-funnel"' in page and 'id="funnel-table"' in page and 'id="forecast-table"' in page
    assert "Per rep" in page and "Per team" in page
    assert "build/charts.js" in page


def test_an_administrator_adds_a_stage_that_requires_a_field(make_user, login):
    admin = make_user("administrator", language="en")
    pipeline = factories.pipeline()
    client = login(admin)
    response = client.post(
        reverse("stage-create", args=[pipeline.pk]),
        {"new-name": "合同 Contract", "new-probability": 90, "new-kind": "open", "new-required_fields": ["account"]},
    )
    assert response.status_code == 302
    stage = Stage.objects.get(pipeline=pipeline, name="合同 Contract")
    assert stage.required_fields == ["account"] and stage.probability == 90
    assert "合同 Contract" in client.get(reverse("pipeline-stages", args=[pipeline.pk])).content.decode()


def test_a_currency_rate_must_be_positive(make_user, login):
    admin = make_user("administrator", language="en")
    client = login(admin)
    response = client.post(
        reverse("currency-create"), {"code": "GBP", "name": "Pound", "rate_to_cny": "0", "active": "on"}, follow=True
    )
    assert "A rate is more than zero." in response.content.decode()


def test_the_settings_page_lists_pipelines_currencies_reasons_and_rules(make_user, login):
    admin = make_user("administrator", language="en")
    factories.pipeline(name="续约 Renewals X")
    factories.currency("USD")
    page = login(admin).get(reverse("sales-settings")).content.decode()
    assert "续约 Renewals X" in page and "USD" in page and "Assignment rules" in page and "Stale deals" in page


def test_converting_a_lead_with_create_a_deal_opens_the_deal(rep, login):
    factories.pipeline(default=True)
    lead = customer_factories.lead(owner=rep, company_name="字节跳动 ByteDance")
    client = login(rep)
    form = client.get(reverse("lead-convert", args=[lead.pk])).content.decode()
    assert "Create a deal" in form
    response = client.post(
        reverse("lead-convert", args=[lead.pk]),
        {"create_deal": "on", "deal_name": "广告投放 Ads", "deal_amount": "30000"},
    )
    deal = Deal.objects.get(name="广告投放 Ads")
    assert response["Location"] == deal.get_absolute_url()
    assert deal.account.name == "字节跳动 ByteDance" and deal.lead == lead


def test_a_bad_deal_amount_on_conversion_leaves_the_lead_as_it_was(rep, login):
    factories.pipeline(default=True)
    lead = customer_factories.lead(owner=rep)
    response = login(rep).post(
        reverse("lead-convert", args=[lead.pk]), {"create_deal": "on", "deal_name": "x", "deal_amount": "-1"}
    )
    assert response.status_code == 200 and response.context["form"].errors["deal_amount"]
    lead.refresh_from_db()
    assert lead.status != "converted"


def test_card_text_is_escaped_on_the_board(rep, login):
    pipeline = factories.pipeline()
    factories.deal(owner=rep, pipeline=pipeline, name="<script>alert(1)</script>")
    page = login(rep).get(reverse("pipeline-board", args=[pipeline.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_column_figures_are_fresh_after_a_move_commits(rep, login, django_capture_on_commit_callbacks):
    """The figures are cached per viewer, and every committed deal write in the pipeline drops them."""
    pipeline = factories.pipeline()
    deal = factories.deal(owner=rep, pipeline=pipeline, amount="300")
    client = login(rep)
    url = reverse("pipeline-board", args=[pipeline.pk])
    assert client.get(url).context["columns"][0].count == 1
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("deal-move", args=[deal.pk]), {"stage": factories.stage(pipeline, 1).pk}, **JSON)
    columns = client.get(url).context["columns"]
    assert (columns[0].count, columns[1].count) == (0, 1)
    assert columns[1].total == 300


def test_the_board_reads_its_configuration_from_the_cache_and_sees_changes_once_committed(
    make_user, login, django_capture_on_commit_callbacks
):
    """Pipelines, stages, lost reasons and the stale threshold are cached; a stage renamed or a lost reason
    added through the services shows on the next board load, and a warm board costs a fixed few queries."""
    from guanxi.sales import services

    admin = make_user("administrator", language="en")
    pipeline = factories.pipeline()
    factories.deal(owner=admin, pipeline=pipeline, amount="100")
    client = login(admin)
    url = reverse("pipeline-board", args=[pipeline.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as warm:
        client.get(url)
    # session, user, its permissions (2) and administrator role, the cards (one column here), unread
    # notifications: no pipeline, stage, lost-reason or settings query
    tables = " ".join(q["sql"] for q in warm)
    assert len(warm) <= 7, [q["sql"][:80] for q in warm]
    for table in ("sales_pipeline", "sales_stage", "sales_lostreason", "sales_salessettings"):
        assert f'FROM "{table}"' not in tables
    first = factories.stage(pipeline, 0)
    with django_capture_on_commit_callbacks(execute=True):
        services.stage_save(actor=admin, pipeline=pipeline, stage=first, name="初次接触 Renamed")
        services.lost_reason_save(actor=admin, name="预算取消 Budget cut")
    page = client.get(url).content.decode()
    assert "初次接触 Renamed" in page and "预算取消 Budget cut" in page


def test_a_pipeline_written_outside_the_services_is_still_found(rep, login):
    """A cached configuration that does not know a pipeline (a data load wrote it) is read again, not trusted."""
    client = login(rep)
    client.get(reverse("pipeline-board", args=[factories.pipeline().pk]))
    later = factories.pipeline()
    assert client.get(reverse("pipeline-board", args=[later.pk])).status_code == 200
