"""Forms of the knowledge-base pages; they collect input, `kb.py` decides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import KB_BODY_MAX, KB_TITLE_MAX, KbArticle, KbCategory


class KbArticleForm(forms.Form):
    category = forms.ModelChoiceField(label=_("Category"), queryset=KbCategory.objects.none(), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=KbArticle.Status.choices, initial=KbArticle.Status.DRAFT)
    audience = forms.ChoiceField(
        label=_("Audience"),
        choices=KbArticle.Audience.choices,
        initial=KbArticle.Audience.INTERNAL,
        help_text=_("Public articles appear in the help centre for customers and visitors."),
    )
    title_zh = forms.CharField(label=_("Title (Chinese)"), max_length=KB_TITLE_MAX, required=False)
    body_zh = forms.CharField(
        label=_("Text (Chinese)"),
        required=False,
        max_length=KB_BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("Plain text; blank lines separate paragraphs, web addresses become links."),
    )
    title_en = forms.CharField(label=_("Title (English)"), max_length=KB_TITLE_MAX, required=False)
    body_en = forms.CharField(
        label=_("Text (English)"), required=False, max_length=KB_BODY_MAX, widget=forms.Textarea(attrs={"rows": 10})
    )

    def __init__(self, *args: Any, article: KbArticle | None = None, **kwargs: Any) -> None:
        if article is not None:
            kwargs.setdefault(
                "initial",
                {
                    "category": article.category_id,
                    "status": article.status,
                    "audience": article.audience,
                    "title_zh": article.title_zh,
                    "body_zh": article.body_zh,
                    "title_en": article.title_en,
                    "body_en": article.body_en,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = KbCategory.objects.all()  # type: ignore[attr-defined]


class KbCategoryForm(forms.Form):
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=100, required=False)
    name_en = forms.CharField(label=_("Name (English)"), max_length=100, required=False)
    order = forms.IntegerField(label=_("Order"), min_value=0, max_value=32767, initial=100)
