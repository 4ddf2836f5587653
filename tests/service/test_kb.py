"""The knowledge base: bilingual articles, search that works for Chinese and English, who reads what,
bad input refused whole, "did this help?" counted once per session, suggestions while typing, the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from guanxi.core.models import Event
from guanxi.service import kb
from guanxi.service.kb_search import kb_query_terms, kb_terms
from guanxi.service.models import KB_BODY_MAX, KbArticle, KbVote

pytestmark = pytest.mark.django_db

PUBLISHED, DRAFT = KbArticle.Status.PUBLISHED, KbArticle.Status.DRAFT
PUBLIC, INTERNAL = KbArticle.Audience.PUBLIC, KbArticle.Audience.INTERNAL


def article(**fields: Any) -> KbArticle:
    fields.setdefault("status", PUBLISHED)
    fields.setdefault("audience", PUBLIC)
    return kb.kb_article_save(actor=None, **fields)


@pytest.fixture
def shelf() -> dict[str, KbArticle]:
    """A small knowledge base: password, invoice and delivery articles (public), an internal one, a draft."""
    return {
        "password": article(
            title_zh="忘记密码怎么办？如何重置密码",
            body_zh="在登录页点击“忘记密码”，输入注册邮箱，打开重置邮件设置新密码。",
            title_en="Forgot your password? How to reset it",
            body_en="On the sign-in page click “Forgot password” and follow the email.",
        ),
        "invoice": article(
            title_zh="如何开具和下载电子发票",
            body_zh="订单完成后进入“我的订单 → 发票”，填写抬头和税号。",
            title_en="How to request and download an e-invoice",
            body_en="Open My orders → Invoice and enter the tax number.",
        ),
        "delivery": article(title_zh="如何查询订单物流", body_zh="在我的订单中点击查看物流，可看到运单号。"),
        "internal": article(
            audience=INTERNAL, title_zh="【内部】退款审批权限", body_zh="500 元以下退款一线客服可直接批准。"
        ),
        "draft": article(status=DRAFT, title_en="Gift cards (draft)", body_en="Gift cards can be used for invoices."),
    }


# --- search --------------------------------------------------------------------------------------


def test_chinese_text_is_indexed_as_character_bigrams_and_traditional_folds_to_simplified() -> None:
    """重置密码 gives 重置 置密 密码; 密碼 (traditional) gives the same term as 密码; English words lose a plural s."""
    assert kb_terms("重置密码") == ["重置", "置密", "密码"]
    assert kb_terms("密碼") == ["密码"]
    assert kb_terms("Download Invoices") == ["download", "invoice"]
    assert kb_query_terms("reset passw") == (["reset", "passw"], "passw")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("忘记密码", "password"),
        ("密码", "password"),
        ("我忘了密码，登录不了", "password"),
        ("怎么重置密碼", "password"),  # traditional characters
        ("发票", "invoice"),
        ("電子發票怎麼下載", "invoice"),
        ("物流", "delivery"),
        ("运单号在哪里", "delivery"),
        ("reset password", "password"),
        ("invoices", "invoice"),
        ("passw", "password"),  # a word still being typed matches as a prefix
    ],
)
def test_chinese_and_english_queries_find_the_article(shelf, query, expected) -> None:
    """A question typed without spaces between words finds the article that answers it, first."""
    hits = kb.kb_search(articles=kb.kb_public_articles(), q=query)
    assert hits and hits[0].article == shelf[expected], [h.article.title for h in hits]


def test_a_title_hit_ranks_above_a_text_hit() -> None:
    """The article titled 发票 comes before the one that only mentions 发票 in its text."""
    in_text = article(title_zh="配送范围", body_zh="偏远地区运费另计，发票随货寄出。")
    in_title = article(title_zh="发票信息填错了", body_zh="可在 30 天内申请重开。")
    hits = kb.kb_search(articles=kb.kb_public_articles(), q="发票")
    assert [h.article for h in hits] == [in_title, in_text]
    assert hits[0].title_hits == 1 and hits[1].title_hits == 0


def test_a_one_character_chinese_query_matches_by_substring(shelf) -> None:
    """票 alone is no bigram: it is found inside titles and texts."""
    hits = kb.kb_search(articles=kb.kb_public_articles(), q="票")
    assert shelf["invoice"] in [h.article for h in hits]


def test_changing_the_text_reindexes_the_article(shelf) -> None:
    """After an edit, the new words find the article and the old ones no longer do."""
    delivery = shelf["delivery"]
    kb.kb_article_save(
        actor=None,
        article=delivery,
        status=PUBLISHED,
        audience=PUBLIC,
        title_zh="快递签收",
        body_zh="签收时请当面验货。",
    )
    assert [h.article for h in kb.kb_search(articles=kb.kb_public_articles(), q="验货")] == [delivery]
    assert delivery not in [h.article for h in kb.kb_search(articles=kb.kb_public_articles(), q="运单号")]


# --- who reads what ------------------------------------------------------------------------------


def test_visitors_read_public_articles_staff_internal_ones_editors_drafts(shelf, world) -> None:
    """Anonymous: public published only; sales (a reader): internal too; service (an editor): drafts too."""
    from django.contrib.auth.models import AnonymousUser

    def ids(user: Any) -> set[int]:
        return set(kb.kb_articles_visible_to(user).values_list("pk", flat=True))

    public = {shelf[k].pk for k in ("password", "invoice", "delivery")}
    assert ids(AnonymousUser()) == public
    assert ids(world["users"]["nobody"]) == public
    assert ids(world["users"]["sales"]) == public | {shelf["internal"].pk}
    assert ids(world["users"]["service"]) == public | {shelf["internal"].pk, shelf["draft"].pk}


def test_the_help_centre_shows_public_articles_only(shelf, world, login) -> None:
    """Even signed-in staff see no internal article or draft on /help/; opening one there is not found."""
    client = login(world["users"]["administrator"])
    page = client.get(reverse("help-home")).content.decode()
    assert shelf["password"].title_for("zh") in page and "退款审批" not in page and "Gift cards" not in page
    assert client.get(reverse("help-article", args=[shelf["internal"].pk])).status_code == 404
    assert Client().get(reverse("help-article", args=[shelf["draft"].pk])).status_code == 404


def test_the_reader_gets_their_language_and_falls_back_to_the_other(shelf) -> None:
    """English readers get the English title; an article only in Chinese shows its Chinese version to them."""
    client = Client()
    client.post(reverse("set-language"), {"language": "en"})
    page = client.get(reverse("help-article", args=[shelf["password"].pk])).content.decode()
    assert "Forgot your password?" in page
    page = client.get(reverse("help-article", args=[shelf["delivery"].pk])).content.decode()
    assert "如何查询订单物流" in page


# --- writes and bad input ------------------------------------------------------------------------


def test_creating_publishing_and_updating_record_events(world) -> None:
    """created → published (when it first goes live) → updated with the changed fields."""
    agent = world["users"]["service"]
    a = kb.kb_article_save(actor=agent, title_en="Change the address", body_en="Until dispatch.")
    kb.kb_article_save(
        actor=agent, article=a, status=PUBLISHED, audience=PUBLIC, title_en=a.title_en, body_en=a.body_en
    )
    actions = list(
        Event.objects.filter(object_id=a.pk, content_type__model="kbarticle")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["created", "updated", "published"]
    assert a.published_at is not None and a.author == agent


def test_an_article_without_any_title_is_refused_naming_the_fields() -> None:
    """Both titles empty: an error on title_zh and title_en, and nothing written."""
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        kb.kb_article_save(actor=None, title_zh=" ", title_en="", body_zh="正文")
    assert set(caught.value.message_dict) >= {"title_zh", "title_en"}
    assert "title in Chinese, in English, or both" in caught.value.message_dict["title_en"][0]
    assert not KbArticle.objects.exists() and not Event.objects.filter(content_type__model="kbarticle").exists()


def test_a_huge_body_is_refused_and_nothing_is_written() -> None:
    """A body over the limit names the field and the limit; no article, term or event is stored."""
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        kb.kb_article_save(actor=None, title_en="Logs", body_en="x" * (KB_BODY_MAX + 1))
    assert "body_en" in caught.value.message_dict and str(KB_BODY_MAX) in caught.value.message_dict["body_en"][0]
    assert not KbArticle.objects.exists()


def test_html_in_a_body_is_shown_as_text(world, login) -> None:
    """A <script> in an article is escaped on the help centre and the staff page; line breaks become paragraphs."""
    a = article(title_en="Safe", body_en="<script>alert('x')</script>\n\nSecond paragraph https://example.com/help")
    for client, url in (
        (Client(), reverse("help-article", args=[a.pk])),
        (login(world["users"]["sales"]), a.get_absolute_url()),
    ):
        page = client.get(url).content.decode()
        assert "<script>alert" not in page and "&lt;script&gt;alert" in page
        assert "<p>Second paragraph" in page and 'href="https://example.com/help"' in page


def test_the_editor_form_rejects_an_untitled_article_and_saves_a_good_one(world, login) -> None:
    """Through the page: the error sits on the title fields; a valid post creates the article and opens it."""
    agent = world["users"]["service"]
    agent.language = "en"
    agent.save()
    client = login(agent)
    bad = client.post(reverse("kb-create"), {"status": "draft", "audience": "public", "body_zh": "只有正文"})
    assert bad.status_code == 200 and "needs a Chinese title" in bad.content.decode()
    good = client.post(
        reverse("kb-create"),
        {"status": "published", "audience": "public", "title_zh": "退货流程", "body_zh": "七天内可申请退货。"},
    )
    created = KbArticle.objects.get(title_zh="退货流程")
    assert good.status_code == 302 and good["Location"] == created.get_absolute_url()
    edit = client.post(
        reverse("kb-edit", args=[created.pk]),
        {"status": "published", "audience": "public", "title_zh": "退货流程", "body_zh": "十五天内可申请退货。"},
    )
    assert edit.status_code == 302
    created.refresh_from_db()
    assert created.body_zh == "十五天内可申请退货。"


def test_readers_cannot_edit(shelf, world, login) -> None:
    """A sales user reads the knowledge base but is refused the editor and sees no edit button."""
    client = login(world["users"]["sales"])
    assert client.get(reverse("kb-create")).status_code == 403
    assert client.get(reverse("kb-edit", args=[shelf["password"].pk])).status_code == 403
    page = client.get(shelf["password"].get_absolute_url()).content.decode()
    assert reverse("kb-edit", args=[shelf["password"].pk]) not in page


# --- staff list ----------------------------------------------------------------------------------


def test_the_staff_list_searches_and_filters_by_category(world, login) -> None:
    """Search 发票 within a category lists that category's match only; the menu links the page."""
    billing = kb.kb_category_save(actor=None, name_zh="发票与付款", name_en="Invoices")
    orders = kb.kb_category_save(actor=None, name_zh="订单与配送", name_en="Orders")
    a = article(category=billing, title_zh="电子发票下载", body_zh="在发票页下载 PDF。")
    b = article(category=orders, title_zh="发票随货寄出吗", body_zh="纸质发票随货寄出。")
    client = login(world["users"]["service"])
    page = client.get(reverse("kb-list"), {"q": "发票", "category": billing.pk}).content.decode()
    assert f'data-article="{a.pk}"' in page and f'data-article="{b.pk}"' not in page
    assert reverse("kb-list") in client.get(reverse("home")).content.decode()


def test_the_staff_list_runs_a_fixed_number_of_queries(world, login) -> None:
    """Three or thirty articles (with categories) cost the same queries, searched or not."""
    client = login(world["users"]["service"])
    cat = kb.kb_category_save(actor=None, name_en="Account")
    for i in range(3):
        article(category=cat, title_en=f"Sign in help {i}", body_en="Reset your password.")
    for params in ({}, {"q": "password"}):
        client.get(reverse("kb-list"), params)
        with CaptureQueriesContext(connection) as few:
            client.get(reverse("kb-list"), params)
        for i in range(27):
            article(category=cat, title_en=f"More sign in help {len(params)}-{i}", body_en="Reset your password.")
        with CaptureQueriesContext(connection) as many:
            client.get(reverse("kb-list"), params)
        assert len(many) == len(few), params


# --- votes ---------------------------------------------------------------------------------------


def test_a_second_vote_in_the_same_session_is_not_counted(shelf) -> None:
    """Yes, then Yes and No again from the same visitor: one helpful vote; another visitor adds one more."""
    a = shelf["password"]
    visitor = Client()
    url = reverse("help-vote", args=[a.pk])
    assert visitor.post(url, {"helpful": "yes"}).status_code == 302
    visitor.post(url, {"helpful": "yes"})
    visitor.post(url, {"helpful": "no"}, HTTP_HX_REQUEST="true")
    a.refresh_from_db()
    assert (a.helpful_count, a.not_helpful_count) == (1, 0)
    assert 'data-voted="yes"' in visitor.get(reverse("help-article", args=[a.pk])).content.decode()
    Client().post(url, {"helpful": "no"})
    a.refresh_from_db()
    assert (a.helpful_count, a.not_helpful_count) == (1, 1)
    assert KbVote.objects.filter(article=a).count() == 2


def test_votes_on_internal_articles_are_refused_on_the_help_centre(shelf) -> None:
    """The public vote only reaches public articles."""
    assert Client().post(reverse("help-vote", args=[shelf["internal"].pk]), {"helpful": "yes"}).status_code == 404


# --- suggestions ---------------------------------------------------------------------------------


def test_suggestions_follow_the_viewer_audience(shelf, world, login) -> None:
    """A visitor typing 退款 gets nothing internal; an agent gets the internal refund article (staff page link)."""
    visitor = Client().get(reverse("kb-suggest"), {"q": "退款审批"}).content.decode()
    assert "退款审批权限" not in visitor
    agent = login(world["users"]["service"]).get(reverse("kb-suggest"), {"body": "这个退款需要谁审批"}).content.decode()
    assert f'data-suggested="{shelf["internal"].pk}"' in agent
    assert reverse("kb-detail", args=[shelf["internal"].pk]) in agent
    public = Client().get(reverse("kb-suggest"), {"subject": "忘记密码", "body": "登录不了"}).content.decode()
    assert f'data-suggested="{shelf["password"].pk}"' in public
    assert reverse("help-article", args=[shelf["password"].pk]) in public
    assert (
        "Gift cards"
        not in login(world["users"]["service"]).get(reverse("kb-suggest"), {"q": "gift cards"}).content.decode()
    )


def test_suggestions_return_at_most_five(world) -> None:
    """Ten matching articles: the fragment lists five."""
    for i in range(10):
        article(title_zh=f"密码问题 {i}", body_zh="重置密码。")
    page = Client().get(reverse("kb-suggest"), {"q": "密码"}).content.decode()
    assert page.count("data-suggested=") == 5


def test_the_reply_box_the_new_ticket_form_and_the_web_form_ask_for_suggestions(world, login) -> None:
    """All three forms carry the htmx call to kb-suggest and the box the answer goes into."""
    from . import factories

    agent = world["users"]["service"]
    queue = factories.queue(team=world["teams"]["east"], agents=[agent], is_default=True)
    ticket = factories.ticket(queue=queue, email="kehu@example.cn", assignee=agent)
    client = login(agent)
    suggest = reverse("kb-suggest")
    for page in (
        client.get(ticket.get_absolute_url()),
        client.get(reverse("ticket-create")),
        Client().get(reverse("service-web-request")),
    ):
        html = page.content.decode()
        assert f'hx-get="{suggest}"' in html and 'id="kb-suggestions"' in html


# --- API -----------------------------------------------------------------------------------------


def test_the_api_creates_searches_updates_suggests_and_votes(world, bearer) -> None:
    """One pass through the endpoints as an agent; a second vote by the same caller and visitor is not counted."""
    api = bearer(world["users"]["service"])
    created = api.post(
        "/api/v1/service/kb/articles",
        {
            "status": "published",
            "audience": "public",
            "title_zh": "如何修改收货地址",
            "body_zh": "发货前可在订单页修改地址。",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    found = api.get("/api/v1/service/kb/articles", {"q": "收货地址"}).json()["items"]
    assert found[0]["id"] == pk
    patched = api.patch(
        f"/api/v1/service/kb/articles/{pk}",
        {"title_en": "Change the delivery address", "body_en": "Before dispatch, on the order page."},
        content_type="application/json",
    )
    assert patched.status_code == 200 and patched.json()["title"] == "Change the delivery address"
    assert patched.json()["title_zh"] == "如何修改收货地址"
    assert [a["id"] for a in api.get("/api/v1/service/kb/suggest", {"q": "delivery address"}).json()] == [pk]
    vote = {"helpful": True, "visitor": "wechat:o6_bmjrPTlm6"}
    first = api.post(f"/api/v1/service/kb/articles/{pk}/vote", vote, content_type="application/json").json()
    again = api.post(f"/api/v1/service/kb/articles/{pk}/vote", vote, content_type="application/json").json()
    assert first == {"counted": True, "helpful_count": 1, "not_helpful_count": 0}
    assert again == {"counted": False, "helpful_count": 1, "not_helpful_count": 0}


def test_the_api_refuses_an_untitled_article_naming_the_field(world, bearer) -> None:
    """422 with the field name; nothing stored."""
    response = bearer(world["users"]["service"]).post(
        "/api/v1/service/kb/articles", {"body_en": "text"}, content_type="application/json"
    )
    assert response.status_code == 422
    assert "title_en" in response.content.decode()
    assert not KbArticle.objects.exists()


# --- demo ----------------------------------------------------------------------------------------


def test_the_demo_loads_twenty_bilingual_articles_once(world) -> None:
    """Twenty articles, each with both versions, most public; running it again adds nothing."""
    from guanxi.core.demo import DemoSizes
    from guanxi.service.kb_demo import kb_demo

    result = kb_demo(seed=1, sizes=DemoSizes(customers=10, users=5, teams=1), stdout=None)
    assert result["knowledge base articles"] == 20
    assert KbArticle.objects.filter(title_zh__gt="", title_en__gt="").count() == 20
    assert KbArticle.objects.filter(audience=PUBLIC).count() >= 15
    assert kb_demo(seed=1, sizes=DemoSizes(customers=10, users=5, teams=1), stdout=None) == {}
    hits = kb.kb_search(articles=kb.kb_public_articles(), q="发票开错了")
    assert "发票" in hits[0].article.title_zh
