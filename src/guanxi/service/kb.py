"""The knowledge base: writes (one business action, one transaction, its events) and reads (by audience).

Who reads what: anyone — visitors, portal customers, staff without a role — reads published public
articles; staff with `service.view_kbarticle` also read published internal ones; editors
(`service.change_kbarticle`: the service role and administrators) see drafts too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.events import field_changes, record_event, snapshot

from .kb_search import is_lone_han, kb_query_terms, kb_terms
from .models import KB_BODY_MAX, KB_TITLE_MAX, KbArticle, KbCategory, KbTerm, KbVote

SEARCH_LIMIT = 200  # a search lists at most this many articles, best first
SUGGEST_LIMIT = 5
ARTICLE_FIELDS = ("category_id", "status", "audience", "title_zh", "body_zh", "title_en", "body_en")


# --- reads ---------------------------------------------------------------------------------------


def kb_can_edit(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm("service.change_kbarticle"))


def kb_is_staff_reader(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm("service.view_kbarticle"))


def kb_public_articles() -> QuerySet[KbArticle]:
    """What the public help centre shows: published public articles."""
    return KbArticle.objects.filter(
        status=KbArticle.Status.PUBLISHED, audience=KbArticle.Audience.PUBLIC
    ).select_related("category")


def kb_articles_visible_to(user: Any) -> QuerySet[KbArticle]:
    """The articles this reader may open: drafts for editors, internal ones for staff, public ones for all."""
    if kb_can_edit(user):
        return KbArticle.objects.select_related("category")
    if kb_is_staff_reader(user):
        return KbArticle.objects.filter(status=KbArticle.Status.PUBLISHED).select_related("category")
    return kb_public_articles()


def kb_categories() -> QuerySet[KbCategory]:
    return KbCategory.objects.all()


@dataclass(frozen=True)
class Hit:
    article: KbArticle
    title_hits: int
    body_hits: int


def kb_search(
    *, articles: QuerySet[KbArticle], q: str, category: KbCategory | None = None, limit: int = SEARCH_LIMIT
) -> list[Hit]:
    """Articles among `articles` matching `q`, best first: more query terms in the title, then in the text.

    An empty query lists the articles, most recently published first.
    """
    rows = articles.filter(category=category) if category is not None else articles
    if is_lone_han(q):  # no bigram holds one character alone: look for it inside titles and texts
        text = q.strip()
        matched = rows.filter(Q(title_zh__contains=text) | Q(body_zh__contains=text))
        hits = [Hit(a, 1 if text in a.title_zh else 0, 1 if text in a.body_zh else 0) for a in matched[:limit]]
        return sorted(hits, key=lambda h: (-h.title_hits, -h.body_hits))
    terms, prefix = kb_query_terms(q)
    if not terms and not prefix:
        if q.strip():
            return []
        return [Hit(a, 0, 0) for a in rows.order_by(F("published_at").desc(nulls_last=True), "-id")[:limit]]
    match = Q(term__in=terms) if terms else Q()
    if prefix:
        match = match | Q(term__startswith=prefix) if terms else Q(term__startswith=prefix)
    ranked = (
        KbTerm.objects.filter(match, article__in=rows.order_by().values("pk"))
        .values("article_id")
        .annotate(
            title_hits=Count("id", filter=Q(in_title=True)),
            body_hits=Count("id", filter=Q(in_title=False)),
        )
        .annotate(score=F("title_hits") * 2 + F("body_hits"))
        .order_by("-score", "-title_hits", "-article_id")[:limit]
    )
    scores = [(r["article_id"], r["title_hits"], r["body_hits"]) for r in ranked]
    by_pk = rows.in_bulk([pk for pk, _t, _b in scores])
    return [Hit(by_pk[pk], t, b) for pk, t, b in scores if pk in by_pk]


def kb_suggest(*, user: Any, q: str, limit: int = SUGGEST_LIMIT) -> list[KbArticle]:
    """The few published articles that best match what someone is typing, for that person's audience."""
    if not q.strip():
        return []
    published = kb_articles_visible_to(user).filter(status=KbArticle.Status.PUBLISHED)
    return [hit.article for hit in kb_search(articles=published, q=q, limit=limit)]


# --- writes --------------------------------------------------------------------------------------


def _clean_text(value: Any) -> str:
    return str(value or "").replace("\r\n", "\n").strip()


def _check(fields: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    if not fields["title_zh"] and not fields["title_en"]:
        message = _("Give the article a title in Chinese, in English, or both.")
        errors["title_zh"] = errors["title_en"] = message
    for code, language in (("zh", _("Chinese")), ("en", _("English"))):
        title, body = fields[f"title_{code}"], fields[f"body_{code}"]
        if len(title) > KB_TITLE_MAX:
            errors[f"title_{code}"] = _("At most %(max)s characters (this one has %(n)s).") % {
                "max": KB_TITLE_MAX,
                "n": len(title),
            }
        if len(body) > KB_BODY_MAX:
            errors[f"body_{code}"] = _("At most %(max)s characters (this one has %(n)s).") % {
                "max": KB_BODY_MAX,
                "n": len(body),
            }
        if body and not title:
            errors[f"title_{code}"] = _("The %(language)s text needs a %(language)s title.") % {"language": language}
        if title and not body and f"body_{code}" not in errors:
            errors[f"body_{code}"] = _("Write the %(language)s text, or leave its title empty.") % {
                "language": language
            }
    if fields["status"] not in KbArticle.Status.values:
        errors["status"] = _("Choose draft or published.")
    if fields["audience"] not in KbArticle.Audience.values:
        errors["audience"] = _("Choose internal or public.")
    if errors:
        raise ValidationError(errors)


def _index(article: KbArticle) -> None:
    """Rewrite the article's search terms from its titles and texts."""
    KbTerm.objects.filter(article=article).delete()
    title_terms = set(kb_terms(f"{article.title_zh} {article.title_en}"))
    body_terms = set(kb_terms(f"{article.body_zh}\n{article.body_en}"))
    KbTerm.objects.bulk_create(
        [KbTerm(article=article, term=t, in_title=True) for t in sorted(title_terms)]
        + [KbTerm(article=article, term=t, in_title=False) for t in sorted(body_terms)],
        batch_size=1000,
    )


@transaction.atomic
def kb_article_save(
    *,
    actor: Any,
    article: KbArticle | None = None,
    category: KbCategory | None = None,
    status: str = KbArticle.Status.DRAFT,
    audience: str = KbArticle.Audience.INTERNAL,
    title_zh: str = "",
    body_zh: str = "",
    title_en: str = "",
    body_en: str = "",
) -> KbArticle:
    """Create or change an article (either language version may be empty, not both); publishing it
    records a `published` event besides `created`/`updated`."""
    fields = {
        "category_id": category.pk if category else None,
        "status": status,
        "audience": audience,
        "title_zh": " ".join(str(title_zh or "").split()),
        "body_zh": _clean_text(body_zh),
        "title_en": " ".join(str(title_en or "").split()),
        "body_en": _clean_text(body_en),
    }
    _check(fields)
    created = article is None
    article = article or KbArticle(author=actor if getattr(actor, "is_authenticated", False) else None)
    before = snapshot(article, ARTICLE_FIELDS)
    was_published = not created and before["status"] == KbArticle.Status.PUBLISHED
    for name, value in fields.items():
        setattr(article, name, value)
    becomes_published = article.status == KbArticle.Status.PUBLISHED and not was_published
    if becomes_published:
        article.published_at = timezone.now()
    article.save()
    changes = field_changes(article, before, ARTICLE_FIELDS)
    if created or changes:
        record_event(obj=article, action="created" if created else "updated", actor=actor, changes=changes)
    if becomes_published:
        record_event(obj=article, action="published", actor=actor, data={"audience": article.audience})
    if created or {"title_zh", "body_zh", "title_en", "body_en"} & set(changes):
        _index(article)
    return article


@transaction.atomic
def kb_category_save(
    *, actor: Any, category: KbCategory | None = None, name_zh: str = "", name_en: str = "", order: int = 100
) -> KbCategory:
    """Create or rename a category; it needs a name in at least one language."""
    name_zh, name_en = " ".join(str(name_zh or "").split()), " ".join(str(name_en or "").split())
    if not name_zh and not name_en:
        message = _("Name the category in Chinese, in English, or both.")
        raise ValidationError({"name_zh": message, "name_en": message})
    for field, value in (("name_zh", name_zh), ("name_en", name_en)):
        if len(value) > 100:
            raise ValidationError({field: _("At most %(max)s characters.") % {"max": 100}})
    created = category is None
    category = category or KbCategory()
    before = snapshot(category, ("name_zh", "name_en", "order"))
    category.name_zh, category.name_en, category.order = name_zh, name_en, order
    category.save()
    changes = field_changes(category, before, ("name_zh", "name_en", "order"))
    record_event(obj=category, action="created" if created else "updated", actor=actor, changes=changes)
    return category


@transaction.atomic
def kb_article_vote(*, article: KbArticle, helpful: bool, voter: str, actor: Any = None) -> bool:
    """Count one "did this help?" answer; a voter who already answered for this article is not counted again.

    Returns whether the vote counted.
    """
    if not voter:
        raise ValidationError({"voter": _("A vote needs a visitor session.")})
    _vote, created = KbVote.objects.get_or_create(article=article, voter=voter[:80], defaults={"helpful": helpful})
    if not created:
        return False
    counter = "helpful_count" if helpful else "not_helpful_count"
    KbArticle.objects.filter(pk=article.pk).update(**{counter: F(counter) + 1})
    article.refresh_from_db(fields=["helpful_count", "not_helpful_count"])
    record_event(obj=article, action="voted", actor=actor, data={"helpful": helpful})
    return True
