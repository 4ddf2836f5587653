"""List views of contacts, accounts and leads: filters, sorting, columns, saved views, export and bulk actions."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from guanxi.core.jobs import job_execute
from guanxi.core.listviews import cell_text, list_export_start, list_query_parse, list_rows
from guanxi.core.models import Event, Job, SavedView
from guanxi.core.services import saved_view_create
from guanxi.customers import lists, services
from guanxi.customers.models import Account, Contact, Lead

from ..factories import TeamFactory
from . import factories

pytestmark = pytest.mark.django_db


def rows(spec, user, query: str) -> list:
    return list(list_rows(list_query_parse(spec, QueryDict(query), user), user))


def names(spec, user, query: str) -> list[str]:
    return [str(r) for r in rows(spec, user, query)]


@pytest.fixture
def sales(world):
    user = world["users"]["sales"]
    user.language = "en"
    user.save()
    return user


# --- filters ----------------------------------------------------------------------------------


def test_owner_filter_me_and_a_user_id(world, sales):
    """`owner=me` keeps the viewer's records; `owner=<id>` a colleague's, within scope."""
    service = world["users"]["service"]
    east = world["teams"]["east"]
    factories.contact(owner=sales, surname="张", given_name="伟", team=east)
    factories.contact(owner=service, surname="李", given_name="娜", team=east)
    assert names(lists.CONTACTS, sales, "owner=me") == ["张伟"]
    assert names(lists.CONTACTS, sales, f"owner={service.pk}") == ["李娜"]


def test_team_stage_and_presence_filters(world, sales):
    """Team, lifecycle stage, has phone / has email narrow the list together."""
    east, marketing = world["teams"]["east"], world["teams"]["marketing"]
    factories.contact(owner=sales, team=east, surname="甲", phone="13800138001", email="")
    factories.contact(owner=sales, team=marketing, surname="乙", phone="", email="yi@example.com")
    assert names(lists.CONTACTS, sales, f"team={east.pk}") == ["甲"]
    assert names(lists.CONTACTS, sales, "has_email=yes") == ["乙"]
    assert names(lists.CONTACTS, sales, "has_phone=no") == ["乙"]
    assert names(lists.CONTACTS, sales, "stage=lead&has_phone=yes") == ["甲"]
    assert names(lists.CONTACTS, sales, "stage=customer") == []


def test_account_tier_industry_province_city_filters(sales):
    """Accounts filter by tier (exact) and by part of industry, province or city, combined with the search."""
    factories.account(owner=sales, name="华为", tier="strategic", industry="通信设备", province="广东", city="深圳市")
    factories.account(owner=sales, name="小米", tier="key", industry="消费电子", province="北京", city="北京市")
    assert names(lists.ACCOUNTS, sales, "tier=strategic") == ["华为"]
    assert names(lists.ACCOUNTS, sales, "industry=电子") == ["小米"]
    assert names(lists.ACCOUNTS, sales, "province=广东&city=深圳") == ["华为"]
    assert names(lists.ACCOUNTS, sales, "q=xiaomi&tier=key") == ["小米"]
    assert names(lists.ACCOUNTS, sales, "q=xiaomi&tier=strategic") == []


def test_lead_source_and_status_filters(sales):
    """Leads filter by source and status."""
    factories.lead(owner=sales, surname="王", given_name="芳", company_name="", source="web")
    services.lead_update(
        lead=factories.lead(owner=sales, surname="赵", given_name="敏", company_name="", source="event"),
        actor=sales,
        status="working",
    )
    assert names(lists.LEADS, sales, "source=event") == ["赵敏"]
    assert names(lists.LEADS, sales, "status=new") == ["王芳"]


def test_date_ranges_count_whole_local_days(sales):
    """`created_from`/`created_to` include both days; a record created before the range is left out."""
    old = factories.contact(owner=sales, surname="旧")
    new = factories.contact(owner=sales, surname="新")
    Contact.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    today = timezone.localdate().isoformat()
    assert names(lists.CONTACTS, sales, f"created_from={today}&created_to={today}") == [str(new)]
    week_ago = (timezone.localdate() - timedelta(days=7)).isoformat()
    assert names(lists.CONTACTS, sales, f"created_to={week_ago}") == [str(old)]


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("stage=vip", "stage"),
        ("created_from=yesterday", "created_from"),
        ("created_from=2026-02-01&created_to=2026-01-01", "created_to"),
        ("owner=someone", "owner"),
        ("owner=999999", "owner"),
        ("team=999999", "team"),
        ("has_phone=maybe", "has_phone"),
        ("sort=email", "sort"),
        ("sort=archived_at", "sort"),
        ("cols=name,salary", "cols"),
        ("stauts=new", "stauts"),
        ("archived=1", "archived"),
    ],
)
def test_a_bad_filter_value_is_refused_naming_its_parameter(sales, query, param):
    """Each bad value, unknown parameter or unsortable column is a ValidationError keyed by the parameter."""
    with pytest.raises(ValidationError) as caught:
        list_query_parse(lists.CONTACTS, QueryDict(query), sales)
    assert param in caught.value.message_dict


def test_a_bad_filter_on_the_page_is_a_translated_message_not_a_500(sales, login):
    """The page answers 400 with the message in the reader's language."""
    client = login(sales)
    response = client.get(reverse("contact-list"), {"created_from": "yesterday"})
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()
    sales.language = "zh-hans"
    sales.save()
    response = login(sales).get(reverse("contact-list"), {"created_from": "yesterday"})
    assert response.status_code == 400
    assert "输入一个有效的日期" in response.content.decode()


def test_the_api_refuses_a_bad_filter_with_the_error_shape(sales, bearer):
    """GET /contacts?stage=vip is a 422 whose `fields` names `stage`."""
    response = bearer(sales).get("/api/v1/contacts", {"stage": "vip"})
    assert response.status_code == 422
    assert "stage" in response.json()["error"]["fields"]


# --- sorting ----------------------------------------------------------------------------------


def test_sorting_by_a_whitelisted_column_both_ways_with_id_as_tiebreaker(sales):
    """`sort=city` and `sort=-city` order by city; equal cities keep id order (reversed for descending)."""
    a = factories.account(owner=sales, name="甲", city="上海")
    b = factories.account(owner=sales, name="乙", city="北京")
    c = factories.account(owner=sales, name="丙", city="上海")
    up = [r.pk for r in rows(lists.ACCOUNTS, sales, "sort=city")]
    down = [r.pk for r in rows(lists.ACCOUNTS, sales, "sort=-city")]
    assert up == [a.pk, c.pk, b.pk] or up == [b.pk, a.pk, c.pk]  # the collation decides 上 vs 北
    assert down == list(reversed(up))


def test_column_headers_link_to_their_sort_and_flip_it(sales, login):
    """The page's sortable headers link to `sort=<key>`, and to `-<key>` when already sorted by it."""
    factories.account(owner=sales)
    page = login(sales).get(reverse("account-list"), {"sort": "city"}).content.decode()
    assert "sort=-city" in page and "sort=industry" in page


def test_the_api_list_sorts_and_filters_like_the_page(sales, bearer):
    """GET /leads?sort=-created&status=new gives the same rows as the page's view."""
    first = factories.lead(owner=sales)
    second = factories.lead(owner=sales)
    ids = [r["id"] for r in bearer(sales).get("/api/v1/leads", {"sort": "created", "status": "new"}).json()["items"]]
    assert ids == [first.pk, second.pk]


# --- columns ----------------------------------------------------------------------------------


def test_chosen_columns_are_remembered_per_user_and_list(sales, login):
    """Posting columns stores them; the list then shows them in that order; other users keep the defaults."""
    factories.account(owner=sales, name="华为", industry="通信设备", website="https://huawei.com")
    client = login(sales)
    response = client.post(reverse("list-columns", args=["accounts"]), {"cols": ["website", "name"]})
    assert response.status_code == 302
    query = list_query_parse(lists.ACCOUNTS, QueryDict(""), sales)
    assert [c.key for c in query.columns] == ["website", "name"]
    page = client.get(reverse("account-list")).content.decode()
    assert "https://huawei.com" in page and "通信设备" not in page
    assert page.index(">Website<") < page.index(">Name<")


def test_default_columns_hide_the_street_address(sales):
    """Without a choice a contact list shows its default columns, and the street address is not one."""
    keys = [c.key for c in list_query_parse(lists.CONTACTS, QueryDict(""), sales).columns]
    assert keys == ["name", "phone", "email", "accounts", "stage"]


# --- saved views ------------------------------------------------------------------------------


def test_a_private_view_is_seen_only_by_its_owner_and_a_shared_one_by_the_team(world, sales, login, bearer):
    """Private views stay with their owner; views shared with the team reach its members, not other teams."""
    service, marketing = world["users"]["service"], world["users"]["marketing"]
    private = saved_view_create(owner=sales, list_name="contacts", name="私人", query="owner=me")
    shared = saved_view_create(owner=sales, list_name="contacts", name="团队", query="stage=lead", shared=True)
    assert shared.team == world["teams"]["east"]

    def visible(user):
        return {v["name"] for v in bearer(user).get("/api/v1/saved-views", {"list_name": "contacts"}).json()["items"]}

    assert visible(sales) == {"私人", "团队"}
    assert visible(service) == {"团队"}
    assert visible(marketing) == set()
    assert private.query == "owner=me&cols=name%2Cphone%2Cemail%2Caccounts%2Cstage"


def test_only_the_owner_renames_or_deletes_a_view(world, sales, bearer):
    """A teammate who sees a shared view cannot change it (404); the owner can."""
    shared = saved_view_create(owner=sales, list_name="contacts", name="团队", query="", shared=True)
    teammate = bearer(world["users"]["service"])
    assert (
        teammate.patch(f"/api/v1/saved-views/{shared.pk}", {"name": "x"}, content_type="application/json").status_code
        == 404
    )
    assert teammate.delete(f"/api/v1/saved-views/{shared.pk}").status_code == 404
    owner = bearer(sales)
    response = owner.patch(f"/api/v1/saved-views/{shared.pk}", {"name": "改名"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["name"] == "改名"
    assert owner.delete(f"/api/v1/saved-views/{shared.pk}").status_code == 204
    assert not SavedView.objects.exists()


def test_a_saved_view_with_a_bad_query_is_refused(sales):
    """A view cannot store a filter the list would refuse."""
    with pytest.raises(ValidationError) as caught:
        saved_view_create(owner=sales, list_name="contacts", name="坏", query="stage=vip")
    assert "query" in caught.value.message_dict


def test_the_default_view_opens_the_list_and_one_default_per_list(sales, login):
    """Opening the bare list redirects to the default view; making another default unsets the first."""
    first = saved_view_create(owner=sales, list_name="leads", name="新", query="status=new", is_default=True)
    second = saved_view_create(owner=sales, list_name="leads", name="跟进", query="status=working", is_default=True)
    first.refresh_from_db()
    assert not first.is_default and second.is_default
    response = login(sales).get(reverse("lead-list"))
    assert response.status_code == 302 and "status=working" in response.url and f"view={second.pk}" in response.url
    assert login(sales).get(reverse("lead-list"), {"view": "0"}).status_code == 200


def test_saving_the_current_view_from_the_page(sales, login):
    """The page's Save view form stores the current filters and columns and opens the list with them."""
    client = login(sales)
    response = client.post(
        reverse("saved-view-create", args=["accounts"]), {"name": "战略客户", "query": "tier=strategic&sort=-updated"}
    )
    view = SavedView.objects.get()
    assert response.status_code == 302 and f"view={view.pk}" in response.url
    assert view.query.startswith("tier=strategic&sort=-updated")
    assert Event.objects.filter(action="created", object_id=view.pk).exists()
    page = client.get(response.url).content.decode()
    assert "战略客户" in page


# --- export -----------------------------------------------------------------------------------


def _export(spec, user, query: str, file_format: str, settings) -> tuple[Job, bytes]:
    job = list_export_start(spec=spec, query=query, file_format=file_format, actor=user)
    job_execute(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    return job, (settings.VAR_DIR / "exports" / job.result["file"]).read_bytes()


def test_csv_export_has_a_bom_the_scope_the_columns_and_masked_phones(world, sales, settings):
    """A sales user without view_pii gets their rows only, the chosen columns, phones masked, UTF-8 with BOM."""
    factories.contact(owner=sales, surname="张", given_name="伟", phone="13800138000", city="上海")
    outsider_team = TeamFactory()
    factories.contact(owner=world["users"]["manager"], team=outsider_team, surname="外", given_name="人")
    job, data = _export(lists.CONTACTS, sales, "cols=name,phone,city&sort=name", "csv", settings)
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table == [["Name", "Phone", "City"], ["张伟", "138****8000", "上海"]]
    assert job.result["rows"] == 1
    assert not Event.objects.filter(action="pii_viewed", data__channel="export").exists()


def test_an_unmasked_export_is_logged_per_record(world, settings):
    """A manager (view_pii) exports whole phone numbers, and each exported record gets a pii_viewed event."""
    manager = world["users"]["manager"]
    contact = factories.contact(owner=manager, surname="张", given_name="伟", phone="13800138000")
    _job, data = _export(lists.CONTACTS, manager, "cols=name,phone", "csv", settings)
    assert "138 0013 8000" in data.decode("utf-8-sig")
    logged = Event.objects.get(action="pii_viewed", object_id=contact.pk, data__channel="export")
    assert logged.data["fields"] == ["phone"]


def test_export_guards_cells_against_formula_injection(sales, settings):
    """Text starting with = + - @ is written with a leading quote in CSV and XLSX alike."""
    factories.account(owner=sales, name='=HYPERLINK("http://evil")', industry="+cmd", city="@SUM(1)")
    _job, data = _export(lists.ACCOUNTS, sales, "cols=name,industry,city", "csv", settings)
    row = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[1]
    assert row == ['\'=HYPERLINK("http://evil")', "'+cmd", "'@SUM(1)"]
    _job, data = _export(lists.ACCOUNTS, sales, "cols=name,industry,city", "xlsx", settings)
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[1] == ['\'=HYPERLINK("http://evil")', "'+cmd", "'@SUM(1)"]
    assert cell_text("-5") == "'-5" and cell_text(5) == 5


def test_xlsx_export_is_readable_with_the_view_s_filter_and_sort(sales, settings):
    """The XLSX file opens in openpyxl and holds exactly the filtered, sorted rows, dates as dates."""
    factories.lead(owner=sales, surname="王", given_name="芳", source="web")
    factories.lead(owner=sales, surname="赵", given_name="敏", source="event")
    factories.lead(owner=sales, surname="李", given_name="雷", source="web")
    _job, data = _export(lists.LEADS, sales, "source=web&sort=-created&cols=name,source,created", "xlsx", settings)
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert table[0] == ["Lead", "Source", "Created"]
    assert [r[0] for r in table[1:]] == ["李雷", "王芳"]
    assert all(r[1] == "Website" for r in table[1:])
    assert hasattr(table[1][2], "year")


def test_the_export_button_starts_a_job_and_the_api_too(sales, login, bearer):
    """The page's Export posts the current view and lands on the job page; POST /accounts/export answers 202."""
    response = login(sales).post(reverse("list-export", args=["accounts"]), {"query": "tier=key", "format": "xlsx"})
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == job.get_absolute_url()
    assert job.params == {
        "list": "accounts",
        "query": "tier=key&cols=name%2Cregistration_number%2Cindustry%2Ccity%2Ctier%2Cstage",
        "format": "xlsx",
    }
    api = bearer(sales).post("/api/v1/accounts/export", {"format": "pdf"}, content_type="application/json")
    assert api.status_code == 422 and "format" in api.json()["error"]["fields"]


# --- bulk actions -----------------------------------------------------------------------------


def test_bulk_reassign_changes_owner_and_team_with_one_event_each(world, sales):
    """Reassigning selected records sets owner and team and records one `reassigned` event per record."""
    service, east = world["users"]["service"], world["teams"]["east"]
    mine = [factories.contact(owner=sales, team=east) for _ in range(3)]
    count = services.customers_bulk_reassign(model=Contact, ids=[c.pk for c in mine], actor=sales, owner=service)
    assert count == 3
    assert set(Contact.objects.values_list("owner_id", flat=True)) == {service.pk}
    events = Event.objects.filter(action="reassigned")
    assert events.count() == 3 and events.first().changes["owner_id"] == [sales.pk, service.pk]


def test_bulk_reassign_refuses_all_when_one_record_is_out_of_scope(world, sales):
    """One record the user may not change refuses the whole batch; nothing changes, no event is written."""
    outsider_team = TeamFactory()
    mine = factories.account(owner=sales)
    team_before = mine.team_id
    theirs = factories.account(owner=world["users"]["manager"], team=outsider_team)
    with pytest.raises(ValidationError) as caught:
        services.customers_bulk_reassign(
            model=Account, ids=[mine.pk, theirs.pk], actor=sales, team=world["teams"]["marketing"]
        )
    assert "ids" in caught.value.message_dict
    mine.refresh_from_db()
    assert mine.team_id == team_before and not Event.objects.filter(action="reassigned").exists()


def test_bulk_archive_needs_the_archive_right_and_unarchive_brings_records_back(world, bearer):
    """Sales may not archive (403); an administrator archives and unarchives, one event per record."""
    admin, sales = world["users"]["administrator"], world["users"]["sales"]
    leads = [factories.lead(owner=sales) for _ in range(2)]
    ids = [lead.pk for lead in leads]
    body = {"action": "archive", "ids": ids}
    assert bearer(sales).post("/api/v1/leads/bulk", body, content_type="application/json").status_code == 403
    response = bearer(admin).post("/api/v1/leads/bulk", body, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"count": 2}
    assert Lead.objects.filter(archived_at__isnull=False).count() == 2
    assert [r.pk for r in rows(lists.LEADS, admin, "archived=1&sort=created")] == ids
    response = bearer(admin).post(
        "/api/v1/leads/bulk", {"action": "unarchive", "ids": ids}, content_type="application/json"
    )
    assert response.json() == {"count": 2}
    assert Event.objects.filter(action="unarchived").count() == 2


def test_the_bulk_bar_on_the_page_reassigns_and_reports(world, sales, login):
    """Selecting rows and choosing a new owner on the page reassigns them and says how many."""
    service = world["users"]["service"]
    contacts = [factories.contact(owner=sales) for _ in range(2)]
    client = login(sales)
    page = client.get(reverse("contact-list")).content.decode()
    assert "Select all on this page" in page
    response = client.post(
        reverse("list-bulk", args=["contacts"]),
        {"action": "reassign", "ids": [c.pk for c in contacts], "owner": service.pk, "query": "sort=name"},
        follow=True,
    )
    assert "2 records changed" in response.content.decode()
    assert set(Contact.objects.values_list("owner_id", flat=True)) == {service.pk}


def test_the_archive_button_on_a_detail_page(world, login):
    """An administrator archives a contact from its page; it leaves the list."""
    admin = world["users"]["administrator"]
    contact = factories.contact(owner=admin)
    client = login(admin)
    assert "Archive" in client.get(contact.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    response = client.post(reverse("contact-archive", args=[contact.pk]))
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.archived_at is not None
    assert client.get(contact.get_absolute_url()).status_code == 404


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
@pytest.mark.parametrize("url_name", ["contact-list", "account-list", "lead-list"])
def test_every_list_renders_in_each_language_with_filters(sales, login, language, url_name):
    """Each list page renders with its filters, views, columns and export in all three languages."""
    sales.language = language
    sales.save()
    factories.contact(owner=sales)
    factories.account(owner=sales)
    factories.lead(owner=sales)
    response = login(sales).get(reverse(url_name), {"owner": "me", "created_from": "2020-01-01", "sort": "-created"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="list-filters"' in page and "XLSX" in page and 'name="cols"' in page


def test_list_pages_do_not_query_per_row_with_every_column(sales, login):
    """With every column shown, the page's query count does not grow with the rows."""
    client = login(sales)
    account = factories.account(owner=sales)
    every = ",".join(lists.CONTACTS.all_columns())
    factories.contact(owner=sales, accounts=[(account, "")])
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(reverse("contact-list"), {"cols": every})
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("contact-list"), {"cols": every})
    for _ in range(5):
        factories.contact(owner=sales, accounts=[(account, "")], team=world_team(sales))
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("contact-list"), {"cols": every})
    assert len(many) == len(few)


def world_team(user):
    return user.teams.first()
