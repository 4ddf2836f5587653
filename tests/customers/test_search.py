"""Search in tiers: exact before prefix before contains, each tier in scope, fragments of personal data
only with view_pii, capped counts, and (SQLite) the FTS index kept in step with its table."""

import pytest
from django.db import connection
from django.urls import reverse

from guanxi.customers import selectors, services
from guanxi.customers.models import Account, Contact, Lead
from guanxi.customers.search_index import search_indexes_ensure

from . import factories

pytestmark = pytest.mark.django_db


def _ids(rows):
    return [r.pk for r in rows]


def test_exact_comes_before_prefix_before_contains(make_user):
    user = make_user("sales")
    inside = factories.contact(owner=user, surname="李", given_name="张伟")  # lizhangwei: contains
    starts = factories.contact(owner=user, surname="张", given_name="伟强")  # zhangweiqiang: prefix
    exact = factories.contact(owner=user, surname="张", given_name="伟")  # zhangwei: exact
    rows = list(selectors.contacts_search(user=user, q="zhangwei"))
    assert _ids(rows) == [exact.pk, starts.pk, inside.pk]
    assert [r.search_rank for r in rows] == [0, 1, 2]


def test_a_contacts_company_is_the_last_tier(make_user):
    user = make_user("sales")
    xiaomi = factories.account(owner=user, name="小米科技")
    at_xiaomi = factories.contact(owner=user, surname="王", given_name="芳", accounts=[(xiaomi, "")])
    named = factories.contact(owner=user, surname="Xiao", given_name="Mi")  # pinyin "mixiao"… and "xiaomi" inside
    rows = list(selectors.contacts_search(user=user, q="xiaomi"))
    assert rows[-1].pk == at_xiaomi.pk and rows[-1].search_rank == 3
    assert named.pk not in _ids(rows) or _ids(rows).index(named.pk) < len(rows) - 1


def test_one_or_two_characters_match_by_prefix_only(make_user):
    user = make_user("sales")
    zhang = factories.contact(owner=user, surname="张", given_name="伟强")
    assert _ids(selectors.contacts_search(user=user, q="张伟")) == [zhang.pk]
    assert _ids(selectors.contacts_search(user=user, q="伟强")) == []
    assert _ids(selectors.contacts_search(user=user, q="张伟强")) == [zhang.pk]
    assert _ids(selectors.contacts_search(user=user, q="伟强x")) == []
    assert _ids(selectors.contacts_search(user=user, q="weiqiang")) == [zhang.pk]


@pytest.mark.parametrize("q", ["zhangwei", "zhang", "angwe", "华为科技"])
def test_every_tier_keeps_to_the_users_scope(make_user, q):
    """Records out of scope stay out whichever tier would have found them."""
    mine, theirs = make_user("sales"), make_user("sales")
    huawei = factories.account(owner=theirs, name="华为科技")
    factories.contact(owner=theirs, surname="张", given_name="伟", accounts=[(huawei, "")])
    factories.contact(owner=theirs, surname="张", given_name="伟强")
    factories.lead(owner=theirs, surname="张", given_name="伟", company_name="华为科技")
    assert list(selectors.contacts_search(user=mine, q=q)) == []
    assert list(selectors.accounts_search(user=mine, q=q)) == []
    assert list(selectors.leads_search(user=mine, q=q)) == []
    assert selectors.customers_search(user=mine, q=q) == []


def test_phone_and_email_fragments_need_view_pii_in_every_record_type(make_user):
    sales, manager = make_user("sales"), make_user("manager")
    lead = factories.lead(owner=sales, phone="13800138000", email="sales.desk@example.com")
    assert list(selectors.leads_search(user=sales, q="0013")) == []
    assert list(selectors.leads_search(user=sales, q="sales.desk")) == []
    assert _ids(selectors.leads_search(user=sales, q="138 0013 8000")) == [lead.pk]
    assert _ids(selectors.leads_search(user=sales, q="Sales.Desk@Example.com")) == [lead.pk]
    services.lead_update(lead=lead, actor=sales, owner=manager)
    assert _ids(selectors.leads_search(user=manager, q="0013")) == [lead.pk]
    assert _ids(selectors.leads_search(user=manager, q="sales.desk")) == [lead.pk]


def test_accounts_are_found_by_registration_number_whole_or_in_part(make_user):
    user = make_user("sales")
    xiaomi = factories.account(owner=user, name="小米科技", registration_number="91110108551385082Q")
    assert _ids(selectors.accounts_search(user=user, q="91110108551385082q")) == [xiaomi.pk]
    assert selectors.accounts_search(user=user, q="91110108551385082q")[0].search_rank == 0
    assert _ids(selectors.accounts_search(user=user, q="5513 85")) == [xiaomi.pk]


def test_the_count_stops_at_the_cap_and_says_so(make_user):
    user = make_user("sales")
    for _ in range(5):
        factories.contact(owner=user, surname="张", given_name="伟")
    rows = selectors.contacts_search(user=user, q="zw", cap=3)
    assert rows.count() == 3 and rows.capped and len(rows[:10]) == 3
    assert selectors.contacts_search(user=user, q="zw", cap=5).capped is False


def test_a_list_page_past_the_cap_says_more_than(make_user, login, monkeypatch):
    user = make_user("sales", language="en")
    monkeypatch.setitem(selectors.contacts_search.__kwdefaults__, "cap", 3)
    for _ in range(4):
        factories.contact(owner=user, surname="张", given_name="伟")
    page = login(user).get(reverse("contact-list"), {"q": "zw"}).content.decode()
    assert "of more than 3" in page


def test_the_substring_tier_stops_at_the_cap_and_keeps_to_scope(make_user):
    """The contains tier (on PostgreSQL read through a CTE with the LIMIT outside) counts up to the cap,
    and only rows in the user's scope."""
    mine, theirs = make_user("sales"), make_user("sales")
    for _ in range(4):
        factories.contact(owner=mine, surname="李", given_name="张伟")  # lizhangwei: "angwe" inside only
    factories.contact(owner=theirs, surname="李", given_name="张伟")
    rows = selectors.contacts_search(user=mine, q="angwe", cap=3)
    assert rows.count() == 3 and rows.capped and {r.search_rank for r in rows[:10]} == {2}
    assert selectors.contacts_search(user=mine, q="angwe", cap=4).capped is False
    assert len(selectors.contacts_search(user=theirs, q="angwe")) == 1


def test_one_fragment_is_found_in_whichever_column_holds_it(make_user):
    """SQLite asks FTS5 once per distinct fragment over all its columns; each column still counts."""
    admin = make_user("administrator")
    by_pinyin = factories.contact(actor=admin, surname="李", given_name="张伟")  # lizhangwei
    by_email = factories.contact(actor=admin, surname="王", given_name="芳", email="xzhangwei@example.com")
    by_name = factories.contact(actor=admin, surname="Xzhangwei", given_name="Anna")
    factories.contact(actor=admin, surname="王", given_name="娜", email="wangna@example.com")
    assert set(_ids(selectors.contacts_search(user=admin, q="zhangwei"))) == {by_pinyin.pk, by_email.pk, by_name.pk}
    assert _ids(selectors.contacts_search(user=admin, q="Li Zhangwei")) == [by_pinyin.pk]  # name ≠ pinyin key
    # a quote is searched as text (the pinyin key drops it): no FTS syntax error, no email match
    assert set(_ids(selectors.contacts_search(user=admin, q='zhang"wei'))) == {by_pinyin.pk, by_name.pk}


def test_a_user_without_the_permission_finds_nothing_in_any_tier(make_user):
    admin, nobody = make_user("administrator"), make_user()
    factories.contact(actor=admin, surname="李", given_name="张伟", email="lizhangwei@example.com")
    for q in ("lizhangwei", "angwe", "lizhangwei@example.com"):
        assert list(selectors.contacts_search(user=nobody, q=q)) == [], q
    assert selectors.customers_search(user=nobody, q="angwe") == []


def test_an_address_fragment_matches_whole_not_by_the_part_before_the_domain(make_user):
    """PostgreSQL asks the index for "local@" only; the rows must still contain the whole fragment,
    in any case."""
    admin = make_user("administrator")
    same = factories.contact(actor=admin, surname="张", given_name="伟", email="wei.zhang@qq.com")
    inside = factories.contact(actor=admin, surname="张", given_name="伟", email="Xwei.Zhang@QQ.com")
    other_domain = factories.contact(actor=admin, surname="张", given_name="伟", email="wei.zhang@163.com")
    rows = list(selectors.contacts_search(user=admin, q="WEI.ZHANG@qq.com"))
    assert _ids(rows) == [same.pk, inside.pk] and [r.search_rank for r in rows] == [0, 2]
    assert other_domain.pk not in _ids(selectors.contacts_search(user=admin, q="wei.zhang@qq"))
    assert set(_ids(selectors.contacts_search(user=admin, q="zhang@"))) == {same.pk, inside.pk, other_domain.pk}
    lead = factories.lead(actor=admin, email="sales.desk@example.com")
    factories.lead(actor=admin, email="sales.desk@example.org")
    assert _ids(selectors.leads_search(user=admin, q="Desk@Example.com")) == [lead.pk]


def test_the_search_box_shows_names_companies_and_cities(make_user):
    user = make_user("sales")
    xiaomi = factories.account(owner=user, name="小米科技 Zhangwei", city="北京")
    oppo = factories.account(owner=user, name="欧珀 OPPO")
    contact = factories.contact(owner=user, surname="张", given_name="伟", accounts=[(xiaomi, ""), (oppo, "顾问")])
    lead = factories.lead(owner=user, surname="张", given_name="伟强", company_name="华为")
    firm_only = factories.lead(owner=user, surname="", given_name="", company_name="张伟贸易")
    hits = {(h.type, h.id): h for h in selectors.customers_search(user=user, q="zhangwei")}
    contact_hit = hits[("contact", contact.pk)]
    assert (contact_hit.name, contact_hit.detail) == ("张伟", "小米科技 Zhangwei, 欧珀 OPPO"), "companies in link order"
    assert (hits[("account", xiaomi.pk)].name, hits[("account", xiaomi.pk)].detail) == ("小米科技 Zhangwei", "北京")
    assert (hits[("lead", lead.pk)].name, hits[("lead", lead.pk)].detail) == ("张伟强", "华为")
    assert (hits[("lead", firm_only.pk)].name, hits[("lead", firm_only.pk)].detail) == ("张伟贸易", "")
    for (kind, pk), hit in hits.items():
        record = {"contact": Contact, "account": Account, "lead": Lead}[kind].objects.get(pk=pk)
        assert hit.url == record.get_absolute_url()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 index is SQLite's")
def test_the_sqlite_fts_index_follows_updates_and_deletes(make_user):
    admin = make_user("administrator")
    contact = factories.contact(actor=admin, surname="欧阳", given_name="娜娜", phone="13800138000")
    assert _ids(selectors.contacts_search(user=admin, q="欧阳娜")) == [contact.pk]
    services.contact_update(contact=contact, actor=admin, surname="司马")
    assert list(selectors.contacts_search(user=admin, q="欧阳娜")) == []
    assert _ids(selectors.contacts_search(user=admin, q="马娜娜")) == [contact.pk]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_contact_fts WHERE customers_contact_fts MATCH '\"欧阳\"'")
        assert cursor.fetchone()[0] == 0
        contact.delete()
        cursor.execute("SELECT count(*) FROM customers_contact_fts WHERE customers_contact_fts MATCH '\"马娜娜\"'")
        assert cursor.fetchone()[0] == 0


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 index is SQLite's")
def test_lost_triggers_are_restored_and_the_index_rebuilt(make_user):
    """SQLite drops a table's triggers when a migration rebuilds it; the post-migrate check puts them back."""
    admin = make_user("administrator")
    with connection.cursor() as cursor:
        for suffix in ("ai", "ad", "au"):
            cursor.execute(f"DROP TRIGGER customers_contact_fts_{suffix}")
    contact = factories.contact(actor=admin, surname="欧阳", given_name="娜娜")
    assert list(selectors.contacts_search(user=admin, q="阳娜娜")) == []
    assert search_indexes_ensure(connection) == ["customers_contact"]
    assert _ids(selectors.contacts_search(user=admin, q="阳娜娜")) == [contact.pk]
    assert search_indexes_ensure(connection) == []
