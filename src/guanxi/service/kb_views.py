"""Knowledge-base pages: the staff list, article and editor; the public help centre; suggestions (htmx)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.forms import apply_service_errors
from guanxi.core.http import AuthedRequest
from guanxi.core.views import PAGE_SIZE, staff_perm

from . import kb
from .kb_forms import KbArticleForm, KbCategoryForm
from .models import KbArticle, KbCategory

SESSION_VOTES = "kb_votes"  # {article id: helpful} of this visitor session, to show the answer given


def _category(request: HttpRequest) -> KbCategory | None:
    value = request.GET.get("category", "")
    return KbCategory.objects.filter(pk=int(value)).first() if value.isdigit() else None


def _query(request: HttpRequest) -> str:
    return " ".join(request.GET.get("q", "").split())[:200]


# --- staff -----------------------------------------------------------------------------------------


@staff_perm("service.view_kbarticle")
def kb_list(request: AuthedRequest) -> HttpResponse:
    q, category = _query(request), _category(request)
    hits = kb.kb_search(articles=kb.kb_articles_visible_to(request.user), q=q, category=category)
    page = Paginator(hits, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": q,
        "category": category,
        "categories": kb.kb_categories(),
        "can_edit": kb.kb_can_edit(request.user),
        "query": urlencode({"q": q, "category": category.pk if category else ""}),
    }
    return render(request, "service/kb/list.html", context)


@staff_perm("service.view_kbarticle")
def kb_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(kb.kb_articles_visible_to(request.user), pk=pk)
    title, body, shown = article.version()
    context = {
        "article": article,
        "title": title,
        "body": body,
        "shown": shown,
        "other": article.version("en" if shown == "zh" else "zh"),
        "can_edit": kb.kb_can_edit(request.user),
    }
    return render(request, "service/kb/detail.html", context)


def _article_form(request: AuthedRequest, article: KbArticle | None) -> HttpResponse:
    form = KbArticleForm(request.POST or None, article=article)
    if request.method == "POST" and form.is_valid():
        try:
            article = kb.kb_article_save(actor=request.user, article=article, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Article saved."))
            return redirect(article)
    title = _("Edit article") if article else _("New article")
    return render(request, "core/form.html", {"form": form, "title": title, "back": "kb-list"})


@staff_perm("service.add_kbarticle")
def kb_create(request: AuthedRequest) -> HttpResponse:
    return _article_form(request, None)


@staff_perm("service.change_kbarticle")
def kb_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    return _article_form(request, get_object_or_404(kb.kb_articles_visible_to(request.user), pk=pk))


@staff_perm("service.change_kbcategory")
def kb_categories(request: AuthedRequest) -> HttpResponse:
    """The categories, and a form that adds one (or renames the one picked by ?edit=)."""
    editing = request.GET.get("edit", "")
    category = get_object_or_404(KbCategory, pk=int(editing)) if editing.isdigit() else None
    initial = {"name_zh": category.name_zh, "name_en": category.name_en, "order": category.order} if category else None
    form = KbCategoryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            kb.kb_category_save(actor=request.user, category=category, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("kb-categories")
    rows = kb.kb_categories().annotate(article_count=Count("articles"))
    return render(request, "service/kb/categories.html", {"form": form, "rows": rows, "category": category})


# --- the public help centre ------------------------------------------------------------------------


def help_home(request: HttpRequest) -> HttpResponse:
    """Anyone searches and browses the published public articles."""
    q, category = _query(request), _category(request)
    hits = kb.kb_search(articles=kb.kb_public_articles(), q=q, category=category)
    page = Paginator(hits, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": q,
        "category": category,
        "categories": kb.kb_categories()
        .filter(articles__status=KbArticle.Status.PUBLISHED, articles__audience=KbArticle.Audience.PUBLIC)
        .distinct(),
        "query": urlencode({"q": q, "category": category.pk if category else ""}),
    }
    return render(request, "service/kb/help_home.html", context)


def _voted(request: HttpRequest, article: KbArticle) -> Any:
    return request.session.get(SESSION_VOTES, {}).get(str(article.pk))


def help_article(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(kb.kb_public_articles(), pk=pk)
    title, body, _shown = article.version()
    context = {"article": article, "title": title, "body": body, "voted": _voted(request, article)}
    return render(request, "service/kb/help_article.html", context)


@require_POST
def help_vote(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Did this help?": counted once per visitor session; the answer stays shown for that session."""
    article = get_object_or_404(kb.kb_public_articles(), pk=pk)
    answer = request.POST.get("helpful", "")
    if answer not in ("yes", "no"):
        raise Http404
    if not request.session.session_key:
        request.session.save()  # a first-time visitor gets a session to vote with
    kb.kb_article_vote(
        article=article,
        helpful=answer == "yes",
        voter=f"session:{request.session.session_key}",
        actor=request.user if request.user.is_authenticated else None,
    )
    votes = dict(request.session.get(SESSION_VOTES, {}))
    votes.setdefault(str(article.pk), answer == "yes")
    request.session[SESSION_VOTES] = votes
    if getattr(request, "htmx", False):
        context = {"article": article, "voted": votes[str(article.pk)]}
        return render(request, "service/kb/_vote.html", context)
    return redirect(reverse("help-article", args=[article.pk]))


def kb_suggest(request: HttpRequest) -> HttpResponse:
    """Up to five articles matching what is being typed (`q`, or the `subject` and `body` of a form),
    for the viewer's audience: staff see internal articles too and open them in the staff pages."""
    text = " ".join(request.GET.get(name, "") for name in ("q", "subject", "body")).strip()
    staff = kb.kb_is_staff_reader(request.user)
    articles = kb.kb_suggest(user=request.user, q=text)
    rows = [(a, reverse("kb-detail" if staff else "help-article", args=[a.pk])) for a in articles]
    return render(request, "service/kb/_suggest.html", {"rows": rows, "q": text, "staff": staff})
