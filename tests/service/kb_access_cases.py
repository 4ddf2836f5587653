"""Who may open the knowledge-base pages and endpoints (added to this app's PAGES and ENDPOINTS).

Every role reads the knowledge base; the service role and administrators write it; the help centre,
its votes and the suggestions are open to anyone (they show public articles only to non-staff).
"""

from __future__ import annotations

import itertools
from typing import Any

from guanxi.service import kb
from guanxi.service.models import KbArticle

from ..access import SIGNED_IN, STAFF, Case

EDITORS = frozenset(["administrator", "service"])
_seq = itertools.count()


def _article(world: dict[str, Any], user: Any) -> dict[str, Any]:
    article = kb.kb_article_save(
        actor=None,
        status=KbArticle.Status.PUBLISHED,
        audience=KbArticle.Audience.PUBLIC,
        title_zh=f"如何重置密码 {next(_seq)}",
        body_zh="在登录页点击“忘记密码”。",
    )
    return {"article_id": article.pk}


def _pk(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"pk": _article(world, user)["article_id"]}


PAGES = [
    Case("kb-list", STAFF),
    Case("kb-create", EDITORS),
    Case("kb-categories", EDITORS),
    Case("kb-detail", STAFF, args=_pk),
    Case("kb-edit", EDITORS, args=_pk),
    Case("help-home", SIGNED_IN, public=True),
    Case("kb-suggest", SIGNED_IN, public=True),
    Case("help-article", SIGNED_IN, public=True, args=_pk),
    Case("help-vote", SIGNED_IN, public=True, method="POST", ok=302, args=_pk, body=lambda w, u: {"helpful": "yes"}),
]

ENDPOINTS = [
    Case("GET /service/kb/categories", STAFF),
    Case("GET /service/kb/articles", STAFF),
    Case(
        "POST /service/kb/articles",
        EDITORS,
        ok=201,
        body=lambda w, u: {"title_en": f"Reset a password {next(_seq)}", "body_en": "Click “Forgot password”."},
    ),
    Case("GET /service/kb/articles/{article_id}", STAFF, args=_article),
    Case("PATCH /service/kb/articles/{article_id}", EDITORS, args=_article, body=lambda w, u: {"audience": "internal"}),
    Case("GET /service/kb/suggest", STAFF),
    Case("POST /service/kb/articles/{article_id}/vote", STAFF, args=_article, body=lambda w, u: {"helpful": True}),
]
