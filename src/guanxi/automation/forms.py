"""Forms of the automation settings pages. The rule builder posts its trigger settings, conditions and
actions as JSON built by Alpine; the service checks them against the record's fields."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import InboundWebhook


class JSONText(forms.CharField):
    """A hidden field carrying JSON from the builder."""

    def __init__(self, *, empty: Any, **kwargs: Any) -> None:
        self.empty = empty
        super().__init__(required=False, widget=forms.HiddenInput, **kwargs)

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        if not text:
            return self.empty
        try:
            return json.loads(text)
        except ValueError:
            raise ValidationError(_("This is not valid JSON.")) from None


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    trigger = forms.CharField(label=_("Trigger"), max_length=60)
    trigger_config = JSONText(empty={})
    conditions = JSONText(empty={})
    actions = JSONText(empty=[])


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Rules file (JSON)"))
    replace = forms.BooleanField(label=_("Replace rules with the same name"), required=False)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        try:
            return json.loads(upload.read().decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            raise ValidationError(_("This file is not JSON.")) from None


class SubscriptionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    url = forms.CharField(label=_("URL"), max_length=500)
    event_types = forms.CharField(
        label=_("Event types"),
        help_text=_("Comma-separated, e.g. customers.lead.created, customers.contact.*"),
        max_length=1000,
    )


class InboundForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    slug = forms.SlugField(label=_("Address"), max_length=60, required=False)
    target = forms.ChoiceField(label=_("Target action"), choices=InboundWebhook.Target.choices)
    field_mapping = JSONText(empty={}, label=_("Field mapping"))
