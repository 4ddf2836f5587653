"""The dedupe settings form (the merge form is the comparison table itself)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class DedupeSettingsForm(forms.Form):
    auto_merge_threshold = forms.FloatField(
        label=_("Auto-merge threshold"),
        required=False,
        min_value=0.5,
        max_value=1,
        help_text=_(
            "Clusters scoring at or above this probability (e.g. 0.99) are merged without review. "
            "Leave empty to review every cluster (the default)."
        ),
    )
    review_threshold = forms.FloatField(
        label=_("Review threshold"),
        min_value=0.01,
        max_value=1,
        help_text=_("Pairs below this probability are not proposed for review."),
    )
    schedule_enabled = forms.BooleanField(label=_("Run duplicate detection every night"), required=False)
    schedule_hour = forms.IntegerField(label=_("Hour of the nightly run (0–23)"), min_value=0, max_value=23)
